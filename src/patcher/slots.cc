#include "patcher/slots.h"

#include <algorithm>

#include "common/elf/notes.h"

namespace netleash::elf {

namespace {

// Free program header slots added when the table has to move anyway, for later edits.
constexpr size_t kSpareProgramHeaders = 2;

bool movable_type(uint32_t type) {
  return type == PT_INTERP || type == PT_NOTE || type == PT_GNU_PROPERTY;
}

bool inside(uint64_t start, uint64_t size, uint64_t at, uint64_t length) {
  return at >= start && at - start <= size && length <= size - (at - start);
}

bool is_redundant_note(const std::vector<Phdr>& phdrs, const Phdr& note) {
  if (note.p_type != PT_NOTE) return false;
  return std::any_of(phdrs.begin(), phdrs.end(), [&](const Phdr& p) {
    return p.p_type == PT_GNU_PROPERTY && p.p_offset == note.p_offset &&
           p.p_filesz == note.p_filesz && p.p_vaddr == note.p_vaddr;
  });
}

// Free: PT_NULL, a redundant PT_NOTE, or an empty PT_NOTE (objcopy -R leaves those behind;
// a zero-sized note segment describes nothing).
std::vector<size_t> free_slots(const std::vector<Phdr>& phdrs) {
  std::vector<size_t> slots;
  for (size_t i = 0; i < phdrs.size(); ++i) {
    const Phdr& p = phdrs[i];
    bool empty_note = p.p_type == PT_NOTE && p.p_filesz == 0 && p.p_memsz == 0;
    if (p.p_type == PT_NULL || empty_note || is_redundant_note(phdrs, p)) slots.push_back(i);
  }
  return slots;
}

// A note segment the identity note can be appended to: 4-byte aligned, well-formed notes
// filling it exactly (so parsers reach the appended note), small.
bool groupable(const ElfFile& file, const Phdr& p, uint64_t align = 4) {
  return p.p_type == PT_NOTE && p.p_align == align && p.p_filesz == p.p_memsz &&
         p.p_filesz <= 64 * 1024 &&
         notes_fill_exactly(*file.view, p.p_offset, p.p_filesz, align);
}

// The header-described ranges right after the program header table (.interp, notes) that
// can move, and how many bytes the table could grow over them: up to the first byte that
// something other than a movable program header (a section, another segment) refers to.
struct Run {
  std::vector<size_t> phdrs;
  uint64_t available = 0;
};

std::optional<Run> movable_run(const Base& base) {
  // Without section headers we cannot prove what follows the table.
  if (base.shdrs.empty()) return std::nullopt;
  const uint64_t start = base.ehdr.e_phoff;
  const uint64_t end = start + base.phdrs.size() * sizeof(Phdr);
  const Phdr* first = nullptr;
  for (const Phdr& p : base.phdrs) {
    if (p.p_type == PT_LOAD && inside(p.p_offset, p.p_filesz, start, end - start)) first = &p;
  }
  if (first == nullptr) return std::nullopt;
  auto in_movable = [&](uint64_t at, uint64_t length) {
    return std::any_of(base.phdrs.begin(), base.phdrs.end(), [&](const Phdr& p) {
      return movable_type(p.p_type) && p.p_offset >= end && inside(p.p_offset, p.p_filesz, at, length);
    });
  };
  uint64_t stop = first->p_offset + first->p_filesz;
  for (const Shdr& s : base.shdrs) {
    if (s.sh_type == SHT_NULL || s.sh_type == SHT_NOBITS || s.sh_size == 0) continue;
    if (s.sh_offset + s.sh_size > end && s.sh_offset < stop && !in_movable(s.sh_offset, s.sh_size)) {
      stop = std::max<uint64_t>(s.sh_offset, end);
    }
  }
  for (const Phdr& p : base.phdrs) {
    if (p.p_type == PT_LOAD || p.p_type == PT_PHDR || p.p_type == PT_NULL || p.p_filesz == 0) {
      continue;
    }
    if (!movable_type(p.p_type) && p.p_offset + p.p_filesz > end && p.p_offset < stop) {
      stop = std::max<uint64_t>(p.p_offset, end);
    }
  }
  Run run;
  run.available = stop - end;
  for (size_t i = 0; i < base.phdrs.size(); ++i) {
    const Phdr& p = base.phdrs[i];
    if (movable_type(p.p_type) && p.p_filesz > 0 && p.p_offset >= end && p.p_offset < stop) {
      run.phdrs.push_back(i);
    }
  }
  return run;
}

// The distinct ranges of `indices`, the group's range last.
std::vector<MovedRange> ranges_of(const std::vector<Phdr>& phdrs, const std::vector<size_t>& indices,
                                  std::optional<size_t> group) {
  std::vector<MovedRange> ranges;
  auto add = [&](const Phdr& p) {
    for (const MovedRange& r : ranges) {
      if (inside(r.offset, r.size, p.p_offset, p.p_filesz)) return;
    }
    ranges.push_back(MovedRange{p.p_offset, p.p_vaddr, p.p_filesz,
                                std::max<uint64_t>(p.p_align, 1)});
  };
  for (size_t i : indices) {
    if (i != group) add(phdrs[i]);
  }
  std::sort(ranges.begin(), ranges.end(),
            [](const MovedRange& a, const MovedRange& b) { return a.offset < b.offset; });
  if (group) add(phdrs[*group]);
  return ranges;
}

}  // namespace

SlotChoice choose_slots(const ElfFile& file, const Base& base, bool add_note) {
  SlotChoice c;
  c.phdrs = base.phdrs;
  std::vector<size_t> moved = base.carried;
  std::optional<size_t> group = add_note ? base.group : std::nullopt;
  std::vector<size_t> free = free_slots(c.phdrs);
  auto needed = [&] { return size_t{1} + (add_note && !group ? 1 : 0); };
  // A group must keep its own slot: a redundant PT_NOTE is about to be reused.
  auto is_free = [&](size_t i) { return std::find(free.begin(), free.end(), i) != free.end(); };
  auto finish = [&](const char* strategy) {
    c.strategy = strategy;
    c.slots = free_slots(c.phdrs);
    c.moved = ranges_of(c.phdrs, moved, group);
    c.group = group.has_value();
    if (group) c.note_align = std::max<uint64_t>(c.phdrs[*group].p_align, 4);
    return c;
  };

  // A note segment that moves anyway (it lived in a reused netleash segment) takes the
  // identity note for free.
  for (uint64_t align : {4, 8}) {
    for (size_t i : moved) {
      if (add_note && !group && !is_free(i) && groupable(file, c.phdrs[i], align)) group = i;
    }
  }
  if (!base.phdrs_in_tail) {
    // 1. Enough free slots.
    if (free.size() >= needed()) return finish("reused free program header slots");
    // 2. One free slot; the identity note joins a note segment that moves with it.
    if (add_note && !group && free.size() == 1) {
      for (size_t i = 0; i < c.phdrs.size(); ++i) {
        if (groupable(file, c.phdrs[i]) && !is_free(i) &&
            std::find(moved.begin(), moved.end(), i) == moved.end()) {
          group = i;
          moved.push_back(i);
          return finish("reused a redundant PT_NOTE slot; notes moved to the new segment");
        }
      }
    }
    // 3. Grow the table in place over .interp and the notes after it.
    if (std::optional<Run> run = movable_run(base)) {
      std::vector<size_t> grown = moved;
      grown.insert(grown.end(), run->phdrs.begin(), run->phdrs.end());
      std::optional<size_t> grown_group = group;
      for (uint64_t align : {4, 8}) {
        for (size_t i : run->phdrs) {
          if (add_note && !grown_group && !is_free(i) && groupable(file, c.phdrs[i], align)) {
            grown_group = i;
          }
        }
        // An 8-aligned group only when two slots do not fit: glibc's x86 property
        // parser walks 8-aligned note segments (it skips notes not owned by "GNU").
        if (grown_group || (2 > free.size() && (2 - free.size()) * sizeof(Phdr) <= run->available)) {
          break;
        }
      }
      size_t need = 1 + (add_note && !grown_group ? 1 : 0);
      size_t extra = need > free.size() ? need - free.size() : 0;
      if (extra * sizeof(Phdr) <= run->available) {
        moved = grown;
        group = grown_group;
        c.phdrs.resize(c.phdrs.size() + extra);
        return finish("grew the program header table over .interp and notes");
      }
    }
  }
  // 4. Move the table into the new segment.
  moved = base.carried;
  group = add_note ? base.group : std::nullopt;
  bool has_phdr = std::any_of(c.phdrs.begin(), c.phdrs.end(),
                              [](const Phdr& p) { return p.p_type == PT_PHDR; });
  if (!has_phdr) throw ElfError("unsupported layout: no free program header slot and no PT_PHDR");
  size_t extra = needed() > free.size() ? needed() - free.size() : 0;
  c.phdrs.resize(c.phdrs.size() + extra + (base.phdrs_in_tail ? 0 : kSpareProgramHeaders));
  c.move_phdrs = true;
  return finish("moved the program header table into the new segment");
}

}  // namespace netleash::elf
