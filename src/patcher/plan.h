// The plan pass: an immutable description of the output file.
//
// Strategy (see README.md): nothing the program or the loader may refer to moves. The new
// .dynamic (shim DT_NEEDED first), the new .dynstr (old strings + shim name) and the identity
// note go into one new RW PT_LOAD appended at the end of the file, at an address past every
// segment. The extra program headers come from spare slots when the file has them, and
// otherwise from moving the program header table into the new segment.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "patcher/classify.h"
#include "common/elf/elf_file.h"

namespace netleash::elf {

struct Request {
  enum class Op { Patch, Remove };
  Op op = Op::Patch;
  std::string app;   // Patch only
  std::string shim;  // Patch only
};

// Output bytes at `offset`: literal `bytes`, or (when `bytes` is empty) `length` bytes
// copied from the input at `source`. Pieces are applied in order; a later piece may
// overwrite part of an earlier one (the headers are written over the bulk copy).
struct Piece {
  uint64_t offset = 0;
  std::vector<unsigned char> bytes;
  uint64_t source = 0;
  uint64_t length = 0;
};

struct Plan {
  const char* strategy = "";  // how the program header slots were found
  uint64_t output_size = 0;
  std::vector<Piece> pieces;

  // The resulting headers, checked by the validate pass.
  Ehdr ehdr{};
  std::vector<Phdr> phdrs;
  std::vector<Shdr> shdrs;
  std::vector<Dyn> dynamic;  // the complete new table, DT_NULL padding included
  uint64_t dynstr_vaddr = 0;
  uint64_t dynstr_size = 0;
  std::optional<std::string> shim;  // the leading DT_NEEDED when patching
  uint64_t shim_string = 0;         // its offset in the new .dynstr
  uint64_t segment_index = 0;       // the new PT_LOAD in phdrs

  // The preinit hook (preinit_hook.h) when the plan adds it, or why not (patching only).
  struct Hook {
    uint64_t slot_vaddr = 0;   // the DT_PREINIT_ARRAY slot
    uint64_t entry_vaddr = 0;  // what the slot holds (plus the load bias for a PIE)
    uint64_t blob_offset = 0;  // file offset of the blob, page-aligned in memory
    uint64_t blob_vaddr = 0;
    uint64_t rela_vaddr = 0;   // PIE: the copied DT_RELA table, slot relocation last
    uint64_t rela_size = 0;
  };
  std::optional<Hook> hook;
  std::optional<std::string> seal_refusal;
};

// Returns nullopt when the file is already in the requested state (same id, shim and
// preinit hook, or nothing to remove). Throws ElfError when the file's layout cannot be handled.
std::optional<Plan> make_plan(const ElfFile& file, const Classification& cls,
                              const Request& request);

}  // namespace netleash::elf
