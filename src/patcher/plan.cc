#include "plan.h"

#include <algorithm>
#include <cstring>

#include "base.h"
#include "notes.h"

namespace netleash::elf {

namespace {

// Free DT_NULL entries left after the terminator so that later edits (a re-patch, other
// tools) can add entries without moving the table again (mold's --spare-dynamic-tags).
constexpr size_t kSpareDynamicEntries = 4;
// Free PT_NULL slots added when the program header table has to be moved anyway.
constexpr size_t kSpareProgramHeaders = 2;

template <typename T>
std::vector<unsigned char> bytes_of(const std::vector<T>& items) {
  std::vector<unsigned char> out(items.size() * sizeof(T));
  if (!out.empty()) std::memcpy(out.data(), items.data(), out.size());
  return out;
}

template <typename T>
std::vector<unsigned char> bytes_of(const T& item) {
  std::vector<unsigned char> out(sizeof(T));
  std::memcpy(out.data(), &item, sizeof(T));
  return out;
}

bool contains_range(uint64_t start, uint64_t size, uint64_t at, uint64_t length) {
  return at >= start && at - start <= size && length <= size - (at - start);
}

// A PT_NOTE that describes exactly what PT_GNU_PROPERTY describes is redundant: GNU ld and
// lld emit both for .note.gnu.property, and glibc (dl-prop.h) and the kernel prefer
// PT_GNU_PROPERTY when it is present. Its slot can be reused.
bool is_redundant_note(const std::vector<Phdr>& phdrs, const Phdr& note) {
  if (note.p_type != PT_NOTE) return false;
  for (const Phdr& p : phdrs) {
    if (p.p_type == PT_GNU_PROPERTY && p.p_offset == note.p_offset &&
        p.p_filesz == note.p_filesz && p.p_vaddr == note.p_vaddr) {
      return true;
    }
  }
  return false;
}

std::vector<size_t> free_slots(const Base& base) {
  std::vector<size_t> slots;
  for (size_t i = 0; i < base.phdrs.size(); ++i) {
    const Phdr& p = base.phdrs[i];
    if (p.p_type == PT_NULL || is_redundant_note(base.phdrs, p)) slots.push_back(i);
  }
  return slots;
}

// An existing 4-byte-aligned PT_NOTE whose notes can be copied into the new segment with
// the identity note appended, so the identity note needs no program header of its own.
std::optional<size_t> groupable_note(const ElfFile& file, const Base& base) {
  for (size_t i = 0; i < base.phdrs.size(); ++i) {
    const Phdr& p = base.phdrs[i];
    if (p.p_type == PT_NOTE && p.p_align == 4 && p.p_filesz == p.p_memsz &&
        p.p_filesz <= 64 * 1024 && notes_fill_exactly(*file.view, p.p_offset, p.p_filesz, 4)) {
      return i;
    }
  }
  return std::nullopt;
}

uint32_t section_name_offset(std::vector<unsigned char>& shstrtab, const std::string& name) {
  for (size_t at = 0; at + name.size() < shstrtab.size(); ++at) {
    if ((at == 0 || shstrtab[at - 1] == 0) &&
        std::memcmp(shstrtab.data() + at, name.c_str(), name.size() + 1) == 0) {
      return static_cast<uint32_t>(at);
    }
  }
  if (shstrtab.empty()) shstrtab.push_back(0);
  uint32_t at = static_cast<uint32_t>(shstrtab.size());
  shstrtab.insert(shstrtab.end(), name.begin(), name.end());
  shstrtab.push_back(0);
  return at;
}

// Keep PT_LOAD entries in ascending p_vaddr order (gABI; glibc's _dl_map_segments sizes the
// reservation from the first and last entries): move the new segment's slot right after
// the last other PT_LOAD. Nothing refers to program headers by index.
size_t place_after_last_load(std::vector<Phdr>& phdrs, size_t slot) {
  size_t last = 0;
  bool any = false;
  for (size_t i = 0; i < phdrs.size(); ++i) {
    if (i != slot && phdrs[i].p_type == PT_LOAD) last = i, any = true;
  }
  if (!any || slot > last) return slot;
  Phdr moved = phdrs[slot];
  phdrs.erase(phdrs.begin() + static_cast<long>(slot));
  phdrs.insert(phdrs.begin() + static_cast<long>(last), moved);  // `last` shifted down by one
  return last;
}

}  // namespace

std::optional<Plan> make_plan(const ElfFile& file, const Classification& cls,
                              const Request& request) {
  const bool patch = request.op == Request::Op::Patch;
  if (patch && cls.record && cls.record->app == request.app && cls.shim == request.shim) {
    return std::nullopt;
  }
  if (!patch && !cls.record) return std::nullopt;

  Base base = make_base(file, cls);
  Plan plan;
  const uint64_t align = file.max_load_align();
  const uint64_t T = base.tail_offset, V = base.tail_vaddr;

  // Never a second shim entry, even when the program already links the shim by name.
  if (patch) {
    std::erase_if(base.dynamic, [&](const Dyn& d) {
      return d.d_tag == DT_NEEDED && file.dynamic_string(d.d_val) == request.shim;
    });
  }

  // 1. Program header slots: one PT_LOAD, plus a PT_NOTE for the identity note unless it
  //    joins an existing note segment.
  std::vector<size_t> slots = free_slots(base);
  std::optional<size_t> group = base.carried_note;
  if (patch && !group && slots.size() == 1 && !base.phdrs_in_tail) group = groupable_note(file, base);
  const size_t needed = 1 + (patch && !group ? 1 : 0);
  const bool move_phdrs = base.phdrs_in_tail || slots.size() < needed;
  plan.strategy = move_phdrs ? "moved program headers"
                  : group    ? "reused a redundant PT_NOTE slot, joined a note segment"
                             : "reused spare program header slots";
  std::vector<Phdr> phdrs = base.phdrs;
  if (move_phdrs) {
    bool has_phdr = std::any_of(phdrs.begin(), phdrs.end(),
                                [](const Phdr& p) { return p.p_type == PT_PHDR; });
    if (!has_phdr) throw ElfError("unsupported layout: no free program header slot and no PT_PHDR");
    size_t missing = needed > slots.size() ? needed - slots.size() : 0;
    for (size_t i = 0; i < missing + (base.phdrs_in_tail ? 0 : kSpareProgramHeaders); ++i) {
      slots.push_back(phdrs.size());
      phdrs.push_back(Phdr{});
    }
  }
  if (phdrs.size() > 0xfff0) throw ElfError("unsupported ELF: too many program headers");

  // 2. Layout of the new segment: [program headers] .dynamic .dynstr [notes].
  uint64_t at = 0;
  const uint64_t phdrs_at = at;
  if (move_phdrs) at += phdrs.size() * sizeof(Phdr);
  const uint64_t dynamic_at = align_up(at, 8);
  std::vector<Dyn> dynamic;
  if (patch) {
    Dyn needed_entry;
    needed_entry.d_tag = DT_NEEDED;
    needed_entry.d_val = base.dynstr_size;  // the shim's name is appended to the old strings
    dynamic.push_back(needed_entry);
  }
  dynamic.insert(dynamic.end(), base.dynamic.begin(), base.dynamic.end());
  dynamic.resize(dynamic.size() + 1 + kSpareDynamicEntries);  // DT_NULL terminator + spares
  at = dynamic_at + dynamic.size() * sizeof(Dyn);
  const uint64_t dynstr_at = at;
  const uint64_t dynstr_size = base.dynstr_size + (patch ? request.shim.size() + 1 : 0);
  at += dynstr_size;
  at = align_up(at, 4);
  const uint64_t group_at = at;
  uint64_t group_old_offset = 0, group_old_vaddr = 0, group_size = 0;
  if (group) {
    group_old_offset = base.phdrs[*group].p_offset;
    group_old_vaddr = base.phdrs[*group].p_vaddr;
    group_size = base.phdrs[*group].p_filesz;
    at = align_up(at + group_size, 4);
  }
  const uint64_t note_at = at;
  std::vector<unsigned char> note = patch ? encode_identity_note(request.app)
                                          : std::vector<unsigned char>{};
  at += note.size();
  const uint64_t tail_size = at;

  for (Dyn& d : dynamic) {
    if (d.d_tag == DT_STRTAB) d.d_val = V + dynstr_at;
    if (d.d_tag == DT_STRSZ) d.d_val = dynstr_size;
  }

  // 3. Program headers.
  size_t segment = slots[0];
  Phdr& load = phdrs[segment];
  load = Phdr{};
  load.p_type = PT_LOAD;
  load.p_flags = PF_R | PF_W;  // ld.so writes DT_DEBUG and relocates d_ptr in place
  load.p_offset = T;
  load.p_vaddr = load.p_paddr = V;
  load.p_filesz = load.p_memsz = tail_size;
  load.p_align = align;
  if (patch && !group) {
    Phdr& n = phdrs[slots[1]];
    n = Phdr{};
    n.p_type = PT_NOTE;
    n.p_flags = PF_R;
    n.p_offset = T + note_at;
    n.p_vaddr = n.p_paddr = V + note_at;
    n.p_filesz = n.p_memsz = note.size();
    n.p_align = 4;  // glibc's x86 property parser only looks at 8-aligned notes
  }
  if (group) {
    Phdr& n = phdrs[*group];
    n.p_offset = T + group_at;
    n.p_vaddr = n.p_paddr = V + group_at;
    n.p_filesz = n.p_memsz = tail_size - group_at;
  }
  for (Phdr& p : phdrs) {
    if (p.p_type == PT_DYNAMIC) {
      p.p_offset = T + dynamic_at;
      p.p_vaddr = p.p_paddr = V + dynamic_at;
      p.p_filesz = p.p_memsz = dynamic.size() * sizeof(Dyn);
      p.p_flags = p.p_flags | PF_R | PF_W;
      p.p_align = 8;
    }
    if (p.p_type == PT_PHDR && move_phdrs) {
      p.p_offset = T + phdrs_at;
      p.p_vaddr = p.p_paddr = V + phdrs_at;
      p.p_filesz = p.p_memsz = phdrs.size() * sizeof(Phdr);
    }
  }
  segment = place_after_last_load(phdrs, segment);

  // 4. Section headers: repoint .dynamic, .dynstr and carried notes; add the note's header.
  std::vector<Shdr> shdrs = base.shdrs;
  std::vector<unsigned char> shstrtab = base.shstrtab;
  std::vector<Piece> trailer;
  uint64_t trailer_at = T + tail_size;
  if (!shdrs.empty()) {
    uint16_t shstrndx = base.ehdr.e_shstrndx;
    for (size_t i = 0; i < shdrs.size(); ++i) {
      Shdr& s = shdrs[i];
      if (s.sh_type == SHT_DYNAMIC) {
        s.sh_offset = T + dynamic_at;
        s.sh_addr = V + dynamic_at;
        s.sh_size = dynamic.size() * sizeof(Dyn);
      } else if (s.sh_type == SHT_STRTAB && (s.sh_flags & SHF_ALLOC) &&
                 s.sh_addr == base.dynstr_vaddr) {
        s.sh_offset = T + dynstr_at;
        s.sh_addr = V + dynstr_at;
        s.sh_size = dynstr_size;
      } else if (group && s.sh_type == SHT_NOTE &&
                 contains_range(group_old_offset, group_size, s.sh_offset, s.sh_size)) {
        s.sh_offset = s.sh_offset - group_old_offset + T + group_at;
        s.sh_addr = s.sh_addr - group_old_vaddr + V + group_at;
      } else if (i != shstrndx && s.sh_type != SHT_NOBITS && s.sh_type != SHT_NULL &&
                 s.sh_size != 0 && s.sh_offset >= base.keep_length) {
        // A section after the old netleash segment (strip puts non-allocated sections
        // there): copy it behind the new segment.
        if (s.sh_flags & SHF_ALLOC) {
          throw ElfError("unsupported layout: unexpected section after the netleash segment");
        }
        trailer_at = align_up(trailer_at, std::min<uint64_t>(std::max<uint64_t>(s.sh_addralign, 1), 4096));
        trailer.push_back(Piece{trailer_at, {}, s.sh_offset, s.sh_size});
        s.sh_offset = trailer_at;
        trailer_at += s.sh_size;
      }
    }
    if (patch) {
      Shdr n{};
      n.sh_name = section_name_offset(shstrtab, kNoteSectionName);
      n.sh_type = SHT_NOTE;
      n.sh_flags = SHF_ALLOC;
      n.sh_offset = T + note_at;
      n.sh_addr = V + note_at;
      n.sh_size = note.size();
      n.sh_addralign = 4;
      shdrs.push_back(n);
    }
    if (shstrndx != SHN_UNDEF && shstrndx < shdrs.size()) {
      shdrs[shstrndx].sh_offset = trailer_at;
      shdrs[shstrndx].sh_size = shstrtab.size();
      trailer.push_back(Piece{trailer_at, shstrtab, 0, 0});
      trailer_at += shstrtab.size();
    }
    trailer_at = align_up(trailer_at, 8);
  }

  // 5. ELF header.
  Ehdr ehdr = base.ehdr;
  ehdr.e_phnum = static_cast<uint16_t>(phdrs.size());
  if (move_phdrs) ehdr.e_phoff = T + phdrs_at;
  if (!shdrs.empty()) {
    ehdr.e_shoff = trailer_at;
    ehdr.e_shnum = static_cast<uint16_t>(shdrs.size());
  }
  plan.output_size = shdrs.empty() ? T + tail_size : trailer_at + shdrs.size() * sizeof(Shdr);

  // 6. Pieces: the unchanged bulk first, then everything new, headers last.
  plan.pieces.push_back(Piece{0, {}, 0, base.keep_length});
  plan.pieces.push_back(Piece{T + dynamic_at, bytes_of(dynamic), 0, 0});
  if (base.dynstr_size != 0) {
    plan.pieces.push_back(Piece{T + dynstr_at, {}, base.dynstr_offset, base.dynstr_size});
  }
  if (patch) {
    std::vector<unsigned char> name(request.shim.begin(), request.shim.end());
    name.push_back(0);
    plan.pieces.push_back(Piece{T + dynstr_at + base.dynstr_size, name, 0, 0});
  }
  if (group) plan.pieces.push_back(Piece{T + group_at, {}, group_old_offset, group_size});
  if (patch) plan.pieces.push_back(Piece{T + note_at, note, 0, 0});
  plan.pieces.insert(plan.pieces.end(), trailer.begin(), trailer.end());
  if (!shdrs.empty()) plan.pieces.push_back(Piece{ehdr.e_shoff, bytes_of(shdrs), 0, 0});
  plan.pieces.push_back(Piece{ehdr.e_phoff, bytes_of(phdrs), 0, 0});
  plan.pieces.push_back(Piece{0, bytes_of(ehdr), 0, 0});

  plan.ehdr = ehdr;
  plan.phdrs = std::move(phdrs);
  plan.shdrs = std::move(shdrs);
  plan.dynamic = std::move(dynamic);
  plan.dynstr_vaddr = V + dynstr_at;
  plan.dynstr_size = dynstr_size;
  if (patch) {
    plan.shim = request.shim;
    plan.shim_string = base.dynstr_size;
  }
  plan.segment_index = segment;
  return plan;
}

}  // namespace netleash::elf
