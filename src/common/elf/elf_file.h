// The read pass: a bounds-checked view of an ELF file, read with pread only.
//
// The file is never read whole (a 100 MB executable stays on disk); we read the headers,
// the dynamic table and individual strings on demand. Every offset and size taken from the
// file is checked against the file size, with overflow-safe arithmetic, before it is used:
// the file may be hostile (it is the adversary's program) or simply truncated.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/elf/elf_types.h"

namespace netleash::elf {

using E = Elf64LE;
using Ehdr = ElfEhdr<E>;
using Phdr = ElfPhdr<E>;
using Shdr = ElfShdr<E>;
using Dyn = ElfDyn<E>;
using Nhdr = ElfNhdr<E>;
using Sym = ElfSym<E>;
using Rela = ElfRela<E>;

// Any reason the file cannot be processed: not ELF, truncated, corrupt, or unsupported.
// The message is a short phrase suitable after "netleash-patch: FILE: ".
class ElfError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Limits that bound the work done on hostile input.
inline constexpr uint64_t kMaxDynamicBytes = 1 << 20;
inline constexpr uint64_t kMaxShstrtabBytes = 1 << 20;
inline constexpr uint64_t kMaxNoteSegmentBytes = 1 << 20;
inline constexpr uint64_t kMaxStringBytes = 4096;
inline constexpr uint64_t kMaxSegmentAlign = 1 << 24;  // as patchelf: beyond 16 MiB is corrupt

// pread-based, bounds-checked access to an open file.
class FileView {
 public:
  explicit FileView(int fd);  // throws ElfError if the file cannot be stat'ed
  int fd() const { return fd_; }
  uint64_t size() const { return size_; }

  bool contains(uint64_t offset, uint64_t length) const {
    return offset <= size_ && length <= size_ - offset;
  }
  // Reads exactly `length` bytes at `offset`; throws ElfError naming `what` if out of range.
  std::vector<unsigned char> read(uint64_t offset, uint64_t length, const char* what) const;
  template <typename T>
  T read_struct(uint64_t offset, const char* what) const {
    std::vector<unsigned char> bytes = read(offset, sizeof(T), what);
    T value;
    std::memcpy(&value, bytes.data(), sizeof(T));
    return value;
  }
  // A NUL-terminated string starting at `offset` that must end before `limit`.
  std::string read_cstring(uint64_t offset, uint64_t limit, const char* what) const;

 private:
  int fd_;
  uint64_t size_;
};

// Headers and dynamic table of a supported ELF file (ELF64 little-endian).
struct ElfFile {
  const FileView* view = nullptr;
  Ehdr ehdr{};
  std::vector<Phdr> phdrs;
  std::vector<Shdr> shdrs;              // empty when the file has no section headers
  std::vector<unsigned char> shstrtab;  // empty when absent

  // From PT_DYNAMIC: live entries up to (not including) the first DT_NULL.
  std::optional<size_t> dynamic_index;  // index of PT_DYNAMIC in phdrs
  std::vector<Dyn> dynamic;
  // DT_STRTAB/DT_STRSZ resolved to a file range (present when the file has a dynamic table
  // with a string table).
  uint64_t strtab_vaddr = 0;
  uint64_t strtab_offset = 0;
  uint64_t strtab_size = 0;
  bool has_strtab = false;

  // File offset of [vaddr, vaddr+length) if it lies in the file-backed part of one PT_LOAD.
  std::optional<uint64_t> vaddr_to_offset(uint64_t vaddr, uint64_t length) const;
  // Value of the first dynamic entry with `tag`.
  std::optional<uint64_t> dynamic_value(int64_t tag) const;
  // String at `offset` in the dynamic string table (throws ElfError when out of range).
  std::string dynamic_string(uint64_t offset) const;
  // Name of section `index` from .shstrtab, or "" when unavailable.
  std::string section_name(size_t index) const;
  // Largest PT_LOAD alignment, at least 1.
  uint64_t max_load_align() const;
};

// Reads the ELF header and program headers only (enough for the identity record).
ElfFile read_program_headers(const FileView& view);
// Reads everything the patcher needs. Throws ElfError.
ElfFile read_elf(const FileView& view);

bool is_power_of_two(uint64_t value);
uint64_t align_up(uint64_t value, uint64_t align);  // align is a power of two (or 0/1)

}  // namespace netleash::elf
