#include "patcher/plan.h"

#include <algorithm>
#include <cstring>
#include <map>

#include "patcher/base.h"
#include "common/elf/notes.h"
#include "patcher/preinit_hook.h"
#include "patcher/slots.h"
#include "patcher/symbols.h"

namespace netleash::elf {

namespace {

// Free DT_NULL entries left after the terminator so that later edits (a re-patch, other
// tools) can add entries without moving the table again (mold's --spare-dynamic-tags).
constexpr size_t kSpareDynamicEntries = 4;

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

bool inside(uint64_t start, uint64_t size, uint64_t at, uint64_t length) {
  return at >= start && at - start <= size && length <= size - (at - start);
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

// Where each moved range lands in the new segment.
struct Placement {
  MovedRange from;
  uint64_t at;  // offset inside the new segment
};

}  // namespace

std::optional<Plan> make_plan(const ElfFile& file, const Classification& cls,
                              const Request& request) {
  const bool patch = request.op == Request::Op::Patch;
  if (!patch && !cls.record) return std::nullopt;

  Base base = make_base(file, cls);
  const HookCheck hook = patch ? check_hook(file, base) : HookCheck{};
  if (patch && cls.record && cls.record->app == request.app && cls.shim == request.shim &&
      has_hook(file, cls) == hook.shape.has_value()) {
    return std::nullopt;
  }
  Plan plan;
  const uint64_t align = file.max_load_align();
  const uint64_t T = base.tail_offset, V = base.tail_vaddr;

  // Never a second shim entry, even when the program already links the shim by name.
  if (patch) {
    std::erase_if(base.dynamic, [&](const Dyn& d) {
      return d.d_tag == DT_NEEDED && file.dynamic_string(d.d_val) == request.shim;
    });
  }

  // 1. Program header slots and the ranges that move with them.
  SlotChoice choice = choose_slots(file, base, patch);
  plan.strategy = choice.strategy;
  std::vector<Phdr> phdrs = choice.phdrs;
  if (phdrs.size() > 0xfff0) throw ElfError("unsupported ELF: too many program headers");

  // 2. Layout of the new segment: [program headers] .dynamic .dynstr [moved] [note].
  uint64_t at = 0;
  const uint64_t phdrs_at = at;
  if (choice.move_phdrs) at += phdrs.size() * sizeof(Phdr);
  const uint64_t dynamic_at = align_up(at, 8);
  std::vector<Dyn> dynamic;
  if (patch) {
    Dyn needed_entry;
    needed_entry.d_tag = DT_NEEDED;
    needed_entry.d_val = base.dynstr_size;  // the shim's name is appended to the old strings
    dynamic.push_back(needed_entry);
  }
  dynamic.insert(dynamic.end(), base.dynamic.begin(), base.dynamic.end());
  const size_t hook_entries_at = dynamic.size();  // filled once the layout is known
  if (hook.shape) dynamic.resize(dynamic.size() + hook.shape->dynamic_entries());
  dynamic.resize(dynamic.size() + 1 + kSpareDynamicEntries);  // DT_NULL terminator + spares
  at = dynamic_at + dynamic.size() * sizeof(Dyn);
  const uint64_t dynstr_at = at;
  const uint64_t dynstr_size = base.dynstr_size + (patch ? request.shim.size() + 1 : 0);
  at += dynstr_size;
  std::vector<Placement> placements;
  for (const MovedRange& r : choice.moved) {
    at = align_up(at, std::min<uint64_t>(std::max<uint64_t>(r.align, 4), 4096));
    placements.push_back(Placement{r, at});
    at += r.size;
  }
  at = align_up(at, choice.note_align);
  const uint64_t note_at = at;
  std::vector<unsigned char> note = patch ? encode_identity_note(request.app, choice.note_align)
                                          : std::vector<unsigned char>{};
  at += note.size();
  std::optional<HookLayout> hook_layout;
  if (hook.shape) {
    hook_layout = layout_hook(*hook.shape, V, at);
    at = hook_layout->end;
    std::vector<Dyn> entries = hook_dynamic(*hook.shape, *hook_layout, V);
    std::copy(entries.begin(), entries.end(), dynamic.begin() + static_cast<long>(hook_entries_at));
  }
  const uint64_t tail_size = at;
  if (choice.group && placements.back().at + placements.back().from.size != note_at) {
    throw ElfError("internal error: identity note not adjacent to its note segment");
  }

  for (Dyn& d : dynamic) {
    if (d.d_tag == DT_STRTAB) d.d_val = V + dynstr_at;
    if (d.d_tag == DT_STRSZ) d.d_val = dynstr_size;
  }
  // The placement holding [offset, offset+size) of the input, if it moved.
  auto placement_of = [&](uint64_t offset, uint64_t size) -> const Placement* {
    for (const Placement& p : placements) {
      if (inside(p.from.offset, p.from.size, offset, size)) return &p;
    }
    return nullptr;
  };

  // 3. Program headers: moved ranges first (a free slot may still describe one), then the
  //    slots, .dynamic and the table itself.
  for (Phdr& p : phdrs) {
    if (p.p_type != PT_INTERP && p.p_type != PT_NOTE && p.p_type != PT_GNU_PROPERTY) continue;
    if (const Placement* m = placement_of(p.p_offset, p.p_filesz)) {
      p.p_offset = p.p_offset - m->from.offset + T + m->at;
      p.p_vaddr = p.p_paddr = p.p_vaddr - m->from.vaddr + V + m->at;
      if (choice.group && m == &placements.back() && p.p_type == PT_NOTE) {
        p.p_filesz = p.p_memsz = p.p_filesz + note.size();
      }
    }
  }
  size_t segment = choice.slots.at(0);
  Phdr& load = phdrs[segment];
  load = Phdr{};
  load.p_type = PT_LOAD;
  load.p_flags = PF_R | PF_W;  // ld.so writes DT_DEBUG and relocates d_ptr in place
  // The hook runs from this segment, and itself makes its pages R+X and the rest R+W
  // before any library constructor runs (preinit/preinit_entry.cc).
  if (hook_layout) load.p_flags = PF_R | PF_W | PF_X;
  load.p_offset = T;
  load.p_vaddr = load.p_paddr = V;
  load.p_filesz = load.p_memsz = tail_size;
  load.p_align = align;
  if (patch && !choice.group) {
    Phdr& n = phdrs[choice.slots.at(1)];
    n = Phdr{};
    n.p_type = PT_NOTE;
    n.p_flags = PF_R;
    n.p_offset = T + note_at;
    n.p_vaddr = n.p_paddr = V + note_at;
    n.p_filesz = n.p_memsz = note.size();
    n.p_align = 4;  // glibc's x86 property parser only looks at 8-aligned notes
  }
  Ehdr ehdr = base.ehdr;
  if (choice.move_phdrs) ehdr.e_phoff = T + phdrs_at;
  for (Phdr& p : phdrs) {
    if (p.p_type == PT_DYNAMIC) {
      p.p_offset = T + dynamic_at;
      p.p_vaddr = p.p_paddr = V + dynamic_at;
      p.p_filesz = p.p_memsz = dynamic.size() * sizeof(Dyn);
      p.p_flags = p.p_flags | PF_R | PF_W;
      p.p_align = 8;
    }
    if (p.p_type == PT_PHDR) {
      if (choice.move_phdrs) {
        p.p_offset = T + phdrs_at;
        p.p_vaddr = p.p_paddr = V + phdrs_at;
      }
      p.p_filesz = p.p_memsz = phdrs.size() * sizeof(Phdr);
    }
  }
  segment = place_after_last_load(phdrs, segment);

  // 4. Section headers: repoint .dynamic, .dynstr and moved sections (their symbols
  //    follow); carry sections behind the old segment; add the note's header.
  std::vector<Shdr> shdrs = base.shdrs;
  std::vector<unsigned char> shstrtab = base.shstrtab;
  std::vector<Piece> trailer;
  std::map<uint32_t, uint64_t> symbol_delta;
  uint64_t trailer_at = T + tail_size;
  if (!shdrs.empty()) {
    const uint16_t shstrndx = base.ehdr.e_shstrndx;
    auto repoint = [&](size_t i, uint64_t offset, uint64_t addr) {
      symbol_delta[static_cast<uint32_t>(i)] = addr - shdrs[i].sh_addr;
      shdrs[i].sh_offset = offset;
      shdrs[i].sh_addr = addr;
    };
    for (size_t i = 0; i < shdrs.size(); ++i) {
      Shdr& s = shdrs[i];
      const Placement* m = s.sh_type == SHT_NOBITS ? nullptr : placement_of(s.sh_offset, s.sh_size);
      if (s.sh_type == SHT_DYNAMIC) {
        repoint(i, T + dynamic_at, V + dynamic_at);
        s.sh_size = dynamic.size() * sizeof(Dyn);
      } else if (s.sh_type == SHT_STRTAB && (s.sh_flags & SHF_ALLOC) &&
                 s.sh_addr == base.dynstr_vaddr) {
        repoint(i, T + dynstr_at, V + dynstr_at);
        s.sh_size = dynstr_size;
      } else if (m && s.sh_size != 0 && (s.sh_flags & SHF_ALLOC)) {
        repoint(i, s.sh_offset - m->from.offset + T + m->at, s.sh_addr - m->from.vaddr + V + m->at);
      } else if (i != shstrndx && s.sh_type != SHT_NOBITS && s.sh_type != SHT_NULL &&
                 s.sh_size != 0 && s.sh_offset >= base.keep_length) {
        // A section after the old netleash segment (strip puts non-allocated sections
        // there): copy it behind the new segment.
        if (s.sh_flags & SHF_ALLOC) {
          throw ElfError("unsupported layout: unexpected section after the netleash segment");
        }
        uint64_t section_align = std::min<uint64_t>(std::max<uint64_t>(s.sh_addralign, 1), 4096);
        trailer_at = align_up(trailer_at, section_align);
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
      n.sh_addralign = choice.note_align;
      shdrs.push_back(n);
    }
    if (hook_layout) {
      auto add = [&](const char* name, uint32_t type, uint64_t flags, uint64_t at_, uint64_t size,
                     uint64_t alignment, uint64_t entsize, uint32_t link) {
        Shdr h{};
        h.sh_name = section_name_offset(shstrtab, name);
        h.sh_type = type;
        h.sh_flags = flags;
        h.sh_offset = T + at_;
        h.sh_addr = V + at_;
        h.sh_size = size;
        h.sh_addralign = alignment;
        h.sh_entsize = entsize;
        h.sh_link = link;
        shdrs.push_back(h);
      };
      // Headers for what the hook added, so that strip keeps it and tools can name it.
      if (hook.shape->pie) {
        uint32_t dynsym = 0;
        for (size_t i = 0; i < shdrs.size(); ++i) {
          if (shdrs[i].sh_type == SHT_DYNSYM) dynsym = static_cast<uint32_t>(i);
        }
        add(kHookRelaSectionName, SHT_RELA, SHF_ALLOC, hook_layout->rela_at, hook_layout->rela_size, 8,
            sizeof(Rela), dynsym);
      }
      add(kPreinitArraySectionName, SHT_PREINIT_ARRAY, SHF_ALLOC | SHF_WRITE, hook_layout->slot_at, 8, 8, 8, 0);
      add(kHookSectionName, SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, hook_layout->blob_at,
          hook_layout->end - hook_layout->blob_at, 4096, 0, 0);
    }
    if (shstrndx != SHN_UNDEF && shstrndx < shdrs.size()) {
      shdrs[shstrndx].sh_offset = trailer_at;
      shdrs[shstrndx].sh_size = shstrtab.size();
      trailer.push_back(Piece{trailer_at, shstrtab, 0, 0});
      trailer_at += shstrtab.size();
    }
    trailer_at = align_up(trailer_at, 8);
    ehdr.e_shoff = trailer_at;
    ehdr.e_shnum = static_cast<uint16_t>(shdrs.size());
  }
  ehdr.e_phnum = static_cast<uint16_t>(phdrs.size());
  plan.output_size = shdrs.empty() ? T + tail_size : trailer_at + shdrs.size() * sizeof(Shdr);

  // 5. Pieces: the unchanged bulk first, then everything new, headers last.
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
  for (const Placement& m : placements) {
    plan.pieces.push_back(Piece{T + m.at, {}, m.from.offset, m.from.size});
  }
  if (patch) plan.pieces.push_back(Piece{T + note_at, note, 0, 0});
  if (hook_layout) {
    for (HookPiece& h : hook_pieces(*hook.shape, *hook_layout, V)) {
      plan.pieces.push_back(Piece{T + h.at, std::move(h.bytes), h.source, h.length});
    }
  }
  plan.pieces.insert(plan.pieces.end(), trailer.begin(), trailer.end());
  std::vector<Piece> symbols = relocate_symbols(*file.view, base.shdrs, shdrs, symbol_delta);
  plan.pieces.insert(plan.pieces.end(), symbols.begin(), symbols.end());
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
  if (hook_layout) {
    Plan::Hook h;
    h.slot_vaddr = V + hook_layout->slot_at;
    h.entry_vaddr = hook_entry_vaddr(*hook_layout, V);
    h.blob_offset = T + hook_layout->blob_at;
    h.blob_vaddr = V + hook_layout->blob_at;
    if (hook.shape->pie) {
      h.rela_vaddr = V + hook_layout->rela_at;
      h.rela_size = hook_layout->rela_size;
    }
    plan.hook = h;
  }
  plan.seal_refusal = hook.refusal;
  return plan;
}

}  // namespace netleash::elf
