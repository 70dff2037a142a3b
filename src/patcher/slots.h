// Where the extra program headers come from, and which header-described ranges move.
//
// The new segment needs a PT_LOAD slot, and the identity note a PT_NOTE slot unless the
// note is appended to an existing note segment that moves into the new segment anyway.
// In order of preference (each keeps the program header table at e_phoff, which binutils
// `strip` requires: BFD always writes the table right after the ELF header):
//   1. free slots: PT_NULL, or a PT_NOTE duplicating PT_GNU_PROPERTY (glibc dl-prop.h and
//      the kernel use PT_GNU_PROPERTY when present);
//   2. one free slot, and an existing 4-byte-aligned PT_NOTE is copied into the new
//      segment with the identity note appended (GNU ld layouts);
//   3. the table grows in place over .interp and the notes that follow it, which are
//      copied into the new segment (their only referents, PT_INTERP/PT_NOTE/
//      PT_GNU_PROPERTY and the section headers, are updated) — gold, lld and mold layouts.
//      When the room suffices for one slot only, the identity note joins a moved note
//      segment, 8-aligned if that is all there is (mold merges its notes into one);
//   4. the table itself moves into the new segment and PT_PHDR follows it (the kernel,
//      since 5.18, derives AT_PHDR from the PT_LOAD covering e_phoff; glibc's rtld derives
//      the load bias from PT_PHDR). Such files run, but binutils strip mangles them.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "patcher/base.h"
#include "common/elf/elf_file.h"

namespace netleash::elf {

// A file range described by program headers (PT_INTERP, PT_NOTE, PT_GNU_PROPERTY) that is
// copied into the new segment; every header inside it follows the copy.
struct MovedRange {
  uint64_t offset = 0;
  uint64_t vaddr = 0;
  uint64_t size = 0;
  uint64_t align = 1;
};

struct SlotChoice {
  const char* strategy = "";
  std::vector<Phdr> phdrs;         // the base table, grown when `grow` or `move_phdrs`
  std::vector<size_t> slots;       // free slots to use: [0] PT_LOAD, [1] PT_NOTE if needed
  std::vector<MovedRange> moved;   // copied into the new segment, the group (if any) last
  bool group = false;              // the identity note is appended to moved.back()
  uint64_t note_align = 4;         // padding of the identity note (the group's alignment)
  bool move_phdrs = false;
};

SlotChoice choose_slots(const ElfFile& file, const Base& base, bool add_note);

}  // namespace netleash::elf
