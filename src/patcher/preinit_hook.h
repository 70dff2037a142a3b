// The preinit hook: sealing before any library constructor runs.
//
// The shim is a DT_NEEDED library, and glibc runs its constructor after those
// of the libraries loaded after it. The executable's DT_PREINIT_ARRAY runs
// before every constructor (glibc _dl_init), after relocation. So the patcher
// appends the hook (preinit/preinit_entry.cc, built into preinit_blob.h) to
// the netleash segment, and an 8-byte DT_PREINIT_ARRAY holding its address:
//
//   ... note | [copied DT_RELA table + 1 R_X86_64_RELATIVE] | slot | pad | blob (own page)
//
// ET_EXEC: the slot holds the absolute address. PIE: the slot needs the load
// bias, so the original DT_RELA table is copied and one RELATIVE entry for the
// slot appended; the new DT_RELA/DT_RELASZ (and DT_RELAENT when absent) are
// appended after the original entries, and glibc's elf_get_dynamic_info keeps
// the last entry of a tag (`info[tag] = dyn` in a forward loop). The original
// RELATIVE entries still come first, so DT_RELACOUNT stays valid. The block
// netleash appends always starts with DT_PREINIT_ARRAY (see base.cc).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "patcher/base.h"
#include "patcher/classify.h"
#include "common/elf/elf_file.h"

namespace netleash::elf {

inline constexpr char kHookSectionName[] = ".netleash.preinit";
inline constexpr char kHookRelaSectionName[] = ".netleash.rela";
inline constexpr char kPreinitArraySectionName[] = ".preinit_array";

// What the hook needs from the file; absent with the reason it cannot be added.
struct HookShape {
  bool pie = false;
  uint64_t rela_source = 0;  // file range of the original relocations copied (PIE)
  uint64_t rela_copy = 0;
  bool add_relaent = false;
  size_t dynamic_entries() const { return 2 + (pie ? 2 + (add_relaent ? 1 : 0) : 0); }
};
struct HookCheck {
  std::optional<HookShape> shape;
  std::optional<std::string> refusal;  // why the shim's constructor seals instead
};
HookCheck check_hook(const ElfFile& file, const Base& base);

// Offsets inside the netleash segment, from `at` (the end of everything else).
struct HookLayout {
  uint64_t rela_at = 0;
  uint64_t rela_size = 0;
  uint64_t slot_at = 0;
  uint64_t blob_at = 0;  // page-aligned in memory
  uint64_t end = 0;
};
HookLayout layout_hook(const HookShape& shape, uint64_t segment_vaddr, uint64_t at);

// The entries appended to .dynamic, in order, DT_PREINIT_ARRAY first.
std::vector<Dyn> hook_dynamic(const HookShape& shape, const HookLayout& layout, uint64_t V);
// The address the slot must hold at run time (before the load bias).
uint64_t hook_entry_vaddr(const HookLayout& layout, uint64_t V);

// Output pieces at file offset T (segment start): relocations, slot, blob with parameters.
struct HookPiece {
  uint64_t at;  // offset inside the segment
  std::vector<unsigned char> bytes;
  uint64_t source = 0, length = 0;  // copied from the input when bytes is empty
};
std::vector<HookPiece> hook_pieces(const HookShape& shape, const HookLayout& layout, uint64_t V);

// The patched file carries the hook: a DT_PREINIT_ARRAY into the netleash segment.
bool has_hook(const ElfFile& file, const Classification& cls);

}  // namespace netleash::elf
