// The "base" of a plan: the file as it is before netleash's additions.
//
// For an unpatched file that is simply the file. For a file netleash already patched, the
// base is reconstructed: the netleash segment (the last PT_LOAD, holding .dynamic, .dynstr
// and the identity note) is treated as free space to be rewritten, its program header slots
// become free, and the shim entry and identity record are dropped. Re-patching with another
// id and --remove are then the same planning problem as a first patch, which keeps one code
// path for every case and never stacks a second segment or shim entry.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "patcher/classify.h"
#include "common/elf/elf_file.h"

namespace netleash::elf {

struct Base {
  Ehdr ehdr{};
  std::vector<Phdr> phdrs;
  std::vector<Shdr> shdrs;
  std::vector<unsigned char> shstrtab;
  std::vector<Dyn> dynamic;   // live entries, without the shim's DT_NEEDED
  uint64_t dynstr_offset = 0;  // file range of the string table to carry over
  uint64_t dynstr_size = 0;
  uint64_t dynstr_vaddr = 0;  // where .dynstr's section header currently points
  uint64_t keep_length = 0;   // input bytes [0, keep_length) are copied unchanged
  uint64_t tail_offset = 0;   // where the netleash segment goes (file offset and address)
  uint64_t tail_vaddr = 0;
  // PT_INTERP/PT_NOTE/PT_GNU_PROPERTY whose bytes lived in the old netleash segment and
  // must be carried into the new one; `group` is the PT_NOTE the identity note followed.
  std::vector<size_t> carried;
  std::optional<size_t> group;
  bool phdrs_in_tail = false;  // the program header table lived in the old segment
};

Base make_base(const ElfFile& file, const Classification& cls);

}  // namespace netleash::elf
