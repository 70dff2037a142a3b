#include "patcher/validate.h"

#include "common/elf/identity_record.h"

#include <algorithm>

namespace netleash::elf {

namespace {

bool inside(uint64_t start, uint64_t size, uint64_t at, uint64_t length) {
  return at >= start && at - start <= size && length <= size - (at - start);
}

// [vaddr, vaddr+size) lies in one PT_LOAD's file-backed bytes, at the matching offset.
bool mapped(const std::vector<Phdr>& phdrs, uint64_t offset, uint64_t vaddr, uint64_t size,
            bool need_write = false) {
  return std::any_of(phdrs.begin(), phdrs.end(), [&](const Phdr& p) {
    return p.p_type == PT_LOAD && inside(p.p_vaddr, p.p_filesz, vaddr, size) &&
           offset - p.p_offset == vaddr - p.p_vaddr && (!need_write || (p.p_flags & PF_W));
  });
}

bool unchanged_from_input(const ElfFile& input, const Phdr& p) {
  return std::any_of(input.phdrs.begin(), input.phdrs.end(), [&](const Phdr& q) {
    return std::memcmp(&p, &q, sizeof(Phdr)) == 0;
  });
}

void check_loads(const ElfFile& input, const Plan& plan, std::vector<std::string>& problems) {
  const Phdr* previous = nullptr;
  for (const Phdr& p : plan.phdrs) {
    if (p.p_type != PT_LOAD) continue;
    if (p.p_align > 1 && (!is_power_of_two(p.p_align) || (p.p_offset - p.p_vaddr) % p.p_align)) {
      problems.push_back("PT_LOAD offset and address disagree modulo its alignment");
    }
    if (p.p_filesz > p.p_memsz || p.p_offset > plan.output_size ||
        p.p_filesz > plan.output_size - p.p_offset) {
      problems.push_back("PT_LOAD file range is invalid");
    }
    // Only the netleash segment of a plan with the preinit hook may be W+X: the hook
    // restores W^X before any library code runs (check_hook below).
    if ((p.p_flags & PF_W) && (p.p_flags & PF_X) && !unchanged_from_input(input, p) &&
        !(plan.hook && &p == &plan.phdrs[plan.segment_index])) {
      problems.push_back("new PT_LOAD is writable and executable");
    }
    if (previous) {
      if (p.p_vaddr < previous->p_vaddr) problems.push_back("PT_LOAD entries not sorted by address");
      if (p.p_vaddr < previous->p_vaddr + previous->p_memsz) problems.push_back("PT_LOADs overlap");
    }
    previous = &p;
  }
  // The new segment must not share a page with another one: the loader would map two
  // different file ranges at one page (mmap MAP_FIXED replaces the earlier mapping).
  const Phdr& added = plan.phdrs[plan.segment_index];
  uint64_t page = std::max<uint64_t>(added.p_align, 1);
  for (const Phdr& p : plan.phdrs) {
    if (p.p_type != PT_LOAD || &p == &added) continue;
    if (align_up(p.p_vaddr + p.p_memsz, page) > added.p_vaddr) {
      problems.push_back("new PT_LOAD shares a page with an existing segment");
    }
  }
}

void check_segments(const Plan& plan, std::vector<std::string>& problems) {
  for (const Phdr& p : plan.phdrs) {
    switch (p.p_type) {
      case PT_PHDR:
        if (p.p_offset != plan.ehdr.e_phoff || p.p_filesz != plan.phdrs.size() * sizeof(Phdr)) {
          problems.push_back("PT_PHDR does not describe the program header table");
        }
        if (!mapped(plan.phdrs, p.p_offset, p.p_vaddr, p.p_filesz)) {
          problems.push_back("PT_PHDR is not inside a PT_LOAD");
        }
        break;
      case PT_DYNAMIC:
        if (!mapped(plan.phdrs, p.p_offset, p.p_vaddr, p.p_filesz, true)) {
          problems.push_back("PT_DYNAMIC is not inside a writable PT_LOAD");
        }
        break;
      case PT_NOTE:
      case PT_INTERP:
        if (p.p_filesz == 0 && p.p_memsz == 0) break;  // empty: describes nothing
        if (p.p_filesz != p.p_memsz || !mapped(plan.phdrs, p.p_offset, p.p_vaddr, p.p_filesz)) {
          problems.push_back(p.p_type == PT_NOTE ? "PT_NOTE is not inside a PT_LOAD"
                                                 : "PT_INTERP is not inside a PT_LOAD");
        }
        break;
      default:
        break;
    }
  }
  const uint64_t table = plan.ehdr.e_phoff, table_size = plan.phdrs.size() * sizeof(Phdr);
  if (table > plan.output_size || table_size > plan.output_size - table) {
    problems.push_back("program header table outside the file");
  }
  for (const Shdr& s : plan.shdrs) {
    if (s.sh_type != SHT_NOBITS && s.sh_size != 0 && s.sh_offset < table + table_size &&
        table < s.sh_offset + s.sh_size) {
      problems.push_back("program header table overlaps a section");
    }
  }
}

void check_dynamic(const Plan& plan, std::vector<std::string>& problems) {
  uint64_t strtab = 0, strsz = 0;
  size_t needed = 0;
  bool shim_first = false;
  for (size_t i = 0; i < plan.dynamic.size(); ++i) {
    const Dyn& d = plan.dynamic[i];
    if (d.d_tag == DT_STRTAB) strtab = d.d_val;
    if (d.d_tag == DT_STRSZ) strsz = d.d_val;
    if (d.d_tag == DT_NEEDED && ++needed == 1) shim_first = i == 0 && d.d_val == plan.shim_string;
  }
  if (strtab != plan.dynstr_vaddr || strsz != plan.dynstr_size) {
    problems.push_back("DT_STRTAB/DT_STRSZ do not describe the new .dynstr");
  }
  if (plan.shim && !shim_first) problems.push_back("the shim is not the first DT_NEEDED");
  for (const Shdr& s : plan.shdrs) {
    if (s.sh_type == SHT_STRTAB && (s.sh_flags & SHF_ALLOC) && s.sh_addr == strtab &&
        s.sh_size != strsz) {
      problems.push_back(".dynstr section header disagrees with DT_STRSZ");
    }
    if (s.sh_type == SHT_DYNAMIC) {
      bool agrees = std::any_of(plan.phdrs.begin(), plan.phdrs.end(), [&](const Phdr& p) {
        return p.p_type == PT_DYNAMIC && p.p_offset == s.sh_offset && p.p_vaddr == s.sh_addr;
      });
      if (!agrees) problems.push_back(".dynamic section header disagrees with PT_DYNAMIC");
    }
    if (s.sh_type != SHT_NOBITS && s.sh_type != SHT_NULL &&
        (s.sh_offset > plan.output_size || s.sh_size > plan.output_size - s.sh_offset)) {
      problems.push_back("a section lies outside the file");
    }
  }
}

// The preinit hook: one DT_PREINIT_ARRAY of one slot in the netleash segment, holding
// (or, in a PIE, relocated to) the entry of a blob that starts a page of its own inside
// an R+W+X segment; a PIE's last DT_RELA table lies in the segment and ends with the
// slot's RELATIVE relocation.
void check_hook(const Plan& plan, std::vector<std::string>& problems) {
  size_t preinit = 0;
  uint64_t slot = 0, slot_size = 0, rela = 0, relasz = 0;
  for (const Dyn& d : plan.dynamic) {
    if (d.d_tag == DT_PREINIT_ARRAY) ++preinit, slot = d.d_val;
    if (d.d_tag == DT_PREINIT_ARRAYSZ) slot_size = d.d_val;
    if (d.d_tag == DT_RELA) rela = d.d_val;  // the last one counts (glibc)
    if (d.d_tag == DT_RELASZ) relasz = d.d_val;
  }
  if (!plan.hook) {
    if (plan.phdrs[plan.segment_index].p_flags & PF_X) problems.push_back("netleash segment is executable without the hook");
    return;
  }
  const Plan::Hook& h = *plan.hook;
  const Phdr& seg = plan.phdrs[plan.segment_index];
  if (preinit != 1 || slot != h.slot_vaddr || slot_size != 8) {
    problems.push_back("DT_PREINIT_ARRAY is not the hook's one slot");
  }
  if (seg.p_flags != (PF_R | PF_W | PF_X)) problems.push_back("the hook's segment is not R+W+X");
  if (!inside(seg.p_vaddr, seg.p_filesz, h.slot_vaddr, 8) ||
      !inside(seg.p_vaddr, seg.p_filesz, h.entry_vaddr, 1) || h.entry_vaddr < h.blob_vaddr ||
      h.blob_vaddr % 4096 != 0 || h.blob_offset - seg.p_offset != h.blob_vaddr - seg.p_vaddr) {
    problems.push_back("the preinit hook lies outside its segment or shares a page with data");
  }
  if (plan.ehdr.e_type == ET_DYN &&
      (rela != h.rela_vaddr || relasz != h.rela_size || relasz < sizeof(Rela) ||
       !inside(seg.p_vaddr, seg.p_filesz, rela, relasz) || rela + relasz > h.slot_vaddr)) {
    problems.push_back("DT_RELA does not end with the hook's relocation");
  }
}

}  // namespace

std::vector<std::string> validate(const ElfFile& input, const Plan& plan) {
  std::vector<std::string> problems;
  check_loads(input, plan, problems);
  check_segments(plan, problems);
  check_dynamic(plan, problems);
  check_hook(plan, problems);
  return problems;
}

bool output_carries_request(int fd, const Request& request) {
  std::string app, error;
  const bool found = read_app_id(fd, &app, &error);
  if (request.op == Request::Op::Remove) return !found;
  return found && app == request.app;
}

}  // namespace netleash::elf
