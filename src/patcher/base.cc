#include "patcher/base.h"

#include "patcher/preinit_hook.h"

namespace netleash::elf {

namespace {

uint64_t highest_load_end(const std::vector<Phdr>& phdrs) {
  uint64_t end = 0;
  for (const Phdr& p : phdrs) {
    if (p.p_type == PT_LOAD) end = std::max<uint64_t>(end, p.p_vaddr + p.p_memsz);
  }
  return end;
}

Base unpatched_base(const ElfFile& file) {
  Base base;
  base.ehdr = file.ehdr;
  base.phdrs = file.phdrs;
  base.shdrs = file.shdrs;
  base.shstrtab = file.shstrtab;
  base.dynamic = file.dynamic;
  base.dynstr_offset = file.strtab_offset;
  base.dynstr_size = file.strtab_size;
  base.dynstr_vaddr = file.strtab_vaddr;
  base.keep_length = file.view->size();
  // Offset and address both multiples of the largest alignment, so p_offset ≡ p_vaddr
  // (mod p_align) holds for the new PT_LOAD by construction.
  uint64_t align = file.max_load_align();
  base.tail_offset = align_up(file.view->size(), align);
  base.tail_vaddr = align_up(highest_load_end(file.phdrs), align);
  if (base.tail_offset < file.view->size() || base.tail_vaddr < highest_load_end(file.phdrs)) {
    throw ElfError("unsupported ELF: no room for a new segment in the address space");
  }
  return base;
}

bool contains(uint64_t start, uint64_t size, uint64_t at, uint64_t length) {
  return at >= start && at - start <= size && length <= size - (at - start);
}

// Treats the segment at `index` as netleash's: its bytes become free space to rewrite, its
// slot becomes free, and the header-described ranges inside it are carried over.
void reuse_segment(const ElfFile& file, size_t index, Base& base) {
  const Phdr tail = file.phdrs[index];
  for (const Phdr& p : file.phdrs) {
    if (p.p_type != PT_LOAD || &p == &file.phdrs[index]) continue;
    if (p.p_vaddr + p.p_memsz > tail.p_vaddr || p.p_offset + p.p_filesz > tail.p_offset) {
      throw ElfError("unsupported layout: the netleash segment is not the last segment");
    }
  }
  base.keep_length = tail.p_offset;
  base.tail_offset = tail.p_offset;
  base.tail_vaddr = tail.p_vaddr;
  base.phdrs_in_tail = file.ehdr.e_phoff >= tail.p_offset;
  base.phdrs[index] = Phdr{};
  for (size_t i = 0; i < base.phdrs.size(); ++i) {
    const Phdr& p = base.phdrs[i];
    if (p.p_type == PT_NULL || p.p_type == PT_LOAD || p.p_type == PT_PHDR ||
        p.p_type == PT_DYNAMIC || p.p_offset < tail.p_offset || p.p_filesz == 0) {
      continue;
    }
    if (p.p_type != PT_INTERP && p.p_type != PT_NOTE && p.p_type != PT_GNU_PROPERTY) {
      throw ElfError("unsupported layout: unexpected segment in the netleash segment");
    }
    base.carried.push_back(i);
  }
}

// A segment netleash wrote but that carries no identity record (after --remove): the last
// PT_LOAD, read-write and without bss, starting with .dynamic (after the program headers
// when they moved there) immediately followed by the dynamic string table. Linkers never
// produce that shape (.dynstr is read-only data), so reusing it cannot hit a linker's segment.
std::optional<size_t> recordless_segment(const ElfFile& file) {
  std::optional<size_t> last;
  for (size_t i = 0; i < file.phdrs.size(); ++i) {
    const Phdr& p = file.phdrs[i];
    if (p.p_type == PT_LOAD && (!last || p.p_vaddr > file.phdrs[*last].p_vaddr)) last = i;
  }
  if (!last || !file.dynamic_index || !file.has_strtab) return std::nullopt;
  const Phdr& seg = file.phdrs[*last];
  const Phdr& dyn = file.phdrs[*file.dynamic_index];
  uint64_t start = seg.p_offset;
  if (file.ehdr.e_phoff == seg.p_offset) start += align_up(file.phdrs.size() * sizeof(Phdr), 8);
  bool shape = seg.p_flags == (PF_R | PF_W) && seg.p_filesz == seg.p_memsz &&
               dyn.p_offset == start && file.strtab_offset == dyn.p_offset + dyn.p_filesz &&
               contains(seg.p_offset, seg.p_filesz, file.strtab_offset, file.strtab_size);
  return shape ? last : std::nullopt;
}

}  // namespace

Base make_base(const ElfFile& file, const Classification& cls) {
  Base base = unpatched_base(file);
  if (!cls.record) {
    if (std::optional<size_t> segment = recordless_segment(file)) reuse_segment(file, *segment, base);
    return base;
  }

  // Find the netleash segment: the PT_LOAD holding the identity note. Everything we add
  // lives there, so it must be the last segment both in memory and in the file.
  const Note& note = cls.record->note;
  std::optional<size_t> segment;
  for (size_t i = 0; i < file.phdrs.size(); ++i) {
    const Phdr& p = file.phdrs[i];
    if (p.p_type == PT_LOAD && contains(p.p_offset, p.p_filesz, note.offset, note.size)) {
      segment = i;
    }
  }
  if (!segment) throw ElfError("corrupt netleash patch: identity record outside every PT_LOAD");
  const Phdr tail = file.phdrs[*segment];
  const Phdr& dyn = file.phdrs[*file.dynamic_index];
  if (!contains(tail.p_offset, tail.p_filesz, dyn.p_offset, dyn.p_filesz) ||
      !contains(tail.p_offset, tail.p_filesz, file.strtab_offset, file.strtab_size)) {
    throw ElfError("unsupported layout: .dynamic/.dynstr are not in the netleash segment");
  }
  reuse_segment(file, *segment, base);

  // The identity note is the last note of its PT_NOTE (we always append it there).
  Phdr& holder = base.phdrs[note.phdr_index];
  if (note.offset + note.size != holder.p_offset + holder.p_filesz) {
    throw ElfError("unsupported layout: identity record is not the last note of its PT_NOTE");
  }
  if (note.offset == holder.p_offset) {
    holder = Phdr{};
  } else {
    holder.p_filesz = holder.p_memsz = note.offset - holder.p_offset;
    base.group = note.phdr_index;
  }
  if (note.offset == file.phdrs[note.phdr_index].p_offset) std::erase(base.carried, note.phdr_index);

  // Drop the shim entry; trim its string when it is the last one (it always is in our output).
  uint64_t shim_offset = base.dynamic[0].d_val;
  base.dynamic.erase(base.dynamic.begin());
  if (cls.shim && shim_offset + cls.shim->size() + 1 == base.dynstr_size) {
    base.dynstr_size = shim_offset;
  }

  // Drop the section headers netleash added: the note's and the preinit hook's. Only
  // trailing headers can go without renumbering every sh_link/st_shndx after them; the
  // others become empty SHT_NULL entries.
  std::vector<bool> ours(base.shdrs.size(), false);
  for (size_t i = 0; i < base.shdrs.size(); ++i) {
    const Shdr& s = base.shdrs[i];
    const std::string name = file.section_name(i);
    bool hook = (name == kHookSectionName || name == kHookRelaSectionName ||
                 name == kPreinitArraySectionName) &&
                contains(tail.p_offset, tail.p_filesz, s.sh_offset, s.sh_size);
    if ((s.sh_type == SHT_NOTE && s.sh_offset == note.offset) || hook) {
      base.shdrs[i] = Shdr{};
      ours[i] = true;
    }
  }
  while (!base.shdrs.empty() && ours[base.shdrs.size() - 1]) base.shdrs.pop_back();

  // The entries the preinit hook appended to .dynamic: a block that starts with a
  // DT_PREINIT_ARRAY into the netleash segment (preinit_hook.h) and runs to the end.
  for (size_t i = 0; i < base.dynamic.size(); ++i) {
    const Dyn& d = base.dynamic[i];
    if (d.d_tag == DT_PREINIT_ARRAY && contains(tail.p_vaddr, tail.p_memsz, d.d_val, 8)) {
      base.dynamic.resize(i);
      break;
    }
  }
  return base;
}

}  // namespace netleash::elf
