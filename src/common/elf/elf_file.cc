#include "common/elf/elf_file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace netleash::elf {

bool is_power_of_two(uint64_t value) { return value != 0 && (value & (value - 1)) == 0; }

uint64_t align_up(uint64_t value, uint64_t align) {
  if (align <= 1) return value;
  return (value + align - 1) & ~(align - 1);
}

FileView::FileView(int fd) : fd_(fd) {
  struct stat st;
  if (fstat(fd, &st) != 0) throw ElfError(std::string("cannot stat: ") + std::strerror(errno));
  size_ = st.st_size < 0 ? 0 : static_cast<uint64_t>(st.st_size);
}

std::vector<unsigned char> FileView::read(uint64_t offset, uint64_t length,
                                          const char* what) const {
  if (!contains(offset, length)) {
    throw ElfError(std::string("truncated or corrupt ELF: ") + what + " lies outside the file");
  }
  std::vector<unsigned char> bytes(length);
  uint64_t done = 0;
  while (done < length) {
    ssize_t n = pread(fd_, bytes.data() + done, length - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw ElfError(std::string("read error: ") + std::strerror(errno));
    if (n == 0) throw ElfError(std::string("truncated ELF: file shrank while reading ") + what);
    done += static_cast<uint64_t>(n);
  }
  return bytes;
}

std::string FileView::read_cstring(uint64_t offset, uint64_t limit, const char* what) const {
  if (limit > size_) limit = size_;
  if (offset >= limit) throw ElfError(std::string("corrupt ELF: ") + what + " out of range");
  uint64_t length = limit - offset;
  if (length > kMaxStringBytes) length = kMaxStringBytes;
  std::vector<unsigned char> bytes = read(offset, length, what);
  const void* nul = std::memchr(bytes.data(), 0, bytes.size());
  if (nul == nullptr) throw ElfError(std::string("corrupt ELF: ") + what + " is not terminated");
  return std::string(reinterpret_cast<const char*>(bytes.data()),
                     static_cast<const unsigned char*>(nul) - bytes.data());
}

std::optional<uint64_t> ElfFile::vaddr_to_offset(uint64_t vaddr, uint64_t length) const {
  for (const Phdr& p : phdrs) {
    if (p.p_type != PT_LOAD) continue;
    uint64_t start = p.p_vaddr, filesz = p.p_filesz;
    if (vaddr < start || vaddr - start > filesz || length > filesz - (vaddr - start)) continue;
    return p.p_offset + (vaddr - start);
  }
  return std::nullopt;
}

std::optional<uint64_t> ElfFile::dynamic_value(int64_t tag) const {
  for (const Dyn& d : dynamic) {
    if (d.d_tag == tag) return static_cast<uint64_t>(d.d_val);
  }
  return std::nullopt;
}

std::string ElfFile::dynamic_string(uint64_t offset) const {
  if (!has_strtab || offset >= strtab_size) {
    throw ElfError("corrupt ELF: dynamic string offset outside DT_STRTAB");
  }
  return view->read_cstring(strtab_offset + offset, strtab_offset + strtab_size,
                            "dynamic string");
}

std::string ElfFile::section_name(size_t index) const {
  if (index >= shdrs.size()) return "";
  uint64_t name = shdrs[index].sh_name;
  if (name >= shstrtab.size()) return "";
  const unsigned char* start = shstrtab.data() + name;
  const void* nul = std::memchr(start, 0, shstrtab.size() - name);
  if (nul == nullptr) return "";
  return std::string(reinterpret_cast<const char*>(start),
                     static_cast<const unsigned char*>(nul) - start);
}

uint64_t ElfFile::max_load_align() const {
  uint64_t align = 1;
  for (const Phdr& p : phdrs) {
    if (p.p_type == PT_LOAD && p.p_align > align) align = p.p_align;
  }
  return align;
}

namespace {

void check_ident(const Ehdr& ehdr) {
  if (std::memcmp(ehdr.e_ident, ELFMAG, SELFMAG) != 0) throw ElfError("not an ELF file");
  if (ehdr.e_ident[EI_CLASS] != E::elf_class) {
    throw ElfError("unsupported ELF class (only 64-bit ELF is supported)");
  }
  if (ehdr.e_ident[EI_DATA] != E::elf_data) {
    throw ElfError("unsupported byte order (only little-endian ELF is supported)");
  }
  if (ehdr.e_ident[EI_VERSION] != EV_CURRENT) throw ElfError("unsupported ELF version");
}

// Every PT_LOAD must be self-consistent before we reason about addresses: the loader
// (glibc dl-map-segments.h, kernel binfmt_elf.c) maps p_offset at p_vaddr rounded down to
// the page, which only works when offset and address agree modulo the alignment.
void check_load_segments(const FileView& view, const std::vector<Phdr>& phdrs) {
  for (const Phdr& p : phdrs) {
    if (p.p_type != PT_LOAD) continue;
    if (!view.contains(p.p_offset, p.p_filesz)) {
      throw ElfError("truncated or corrupt ELF: PT_LOAD extends past the end of the file");
    }
    if (p.p_filesz > p.p_memsz) throw ElfError("corrupt ELF: PT_LOAD filesz > memsz");
    if (p.p_memsz > UINT64_MAX - p.p_vaddr) throw ElfError("corrupt ELF: PT_LOAD wraps around");
    uint64_t align = p.p_align;
    if (align > 1) {
      if (!is_power_of_two(align)) throw ElfError("corrupt ELF: PT_LOAD alignment not a power of 2");
      if (align > kMaxSegmentAlign) throw ElfError("unsupported ELF: PT_LOAD alignment above 16 MiB");
      if ((p.p_offset - p.p_vaddr) % align != 0) {
        throw ElfError("corrupt ELF: PT_LOAD offset and address disagree modulo alignment");
      }
    }
  }
}

void read_section_headers(const FileView& view, ElfFile& file) {
  const Ehdr& eh = file.ehdr;
  if (eh.e_shoff == 0) return;
  if (eh.e_shnum == 0) {
    // Extended numbering keeps the real count in section 0; no executable needs it.
    Shdr first = view.read_struct<Shdr>(eh.e_shoff, "section header 0");
    if (first.sh_size != 0) throw ElfError("unsupported ELF: extended section numbering");
    return;
  }
  if (eh.e_shentsize != sizeof(Shdr)) throw ElfError("corrupt ELF: bad e_shentsize");
  uint64_t count = eh.e_shnum;
  std::vector<unsigned char> bytes = view.read(eh.e_shoff, count * sizeof(Shdr), "section headers");
  file.shdrs.resize(count);
  std::memcpy(file.shdrs.data(), bytes.data(), bytes.size());
  for (const Shdr& s : file.shdrs) {
    if (s.sh_type != SHT_NOBITS && s.sh_type != SHT_NULL && !view.contains(s.sh_offset, s.sh_size)) {
      throw ElfError("truncated or corrupt ELF: a section extends past the end of the file");
    }
  }
  if (eh.e_shstrndx == SHN_XINDEX) throw ElfError("unsupported ELF: extended section numbering");
  if (eh.e_shstrndx == SHN_UNDEF) return;
  if (eh.e_shstrndx >= count) throw ElfError("corrupt ELF: e_shstrndx out of range");
  const Shdr& names = file.shdrs[eh.e_shstrndx];
  if (names.sh_type != SHT_STRTAB) throw ElfError("corrupt ELF: e_shstrndx is not a string table");
  if (names.sh_size > kMaxShstrtabBytes) throw ElfError("unsupported ELF: huge .shstrtab");
  file.shstrtab = view.read(names.sh_offset, names.sh_size, ".shstrtab");
}

void read_dynamic(const FileView& view, ElfFile& file) {
  for (size_t i = 0; i < file.phdrs.size(); ++i) {
    if (file.phdrs[i].p_type != PT_DYNAMIC) continue;
    if (file.dynamic_index) throw ElfError("corrupt ELF: more than one PT_DYNAMIC");
    file.dynamic_index = i;
  }
  if (!file.dynamic_index) return;
  const Phdr& p = file.phdrs[*file.dynamic_index];
  if (p.p_filesz > kMaxDynamicBytes) throw ElfError("unsupported ELF: huge PT_DYNAMIC");
  // ld.so finds the table by address; we read it by offset, so both views must agree.
  std::optional<uint64_t> offset = file.vaddr_to_offset(p.p_vaddr, p.p_filesz);
  if (!offset || *offset != p.p_offset) {
    throw ElfError("corrupt ELF: PT_DYNAMIC is not inside a PT_LOAD");
  }
  std::vector<unsigned char> bytes = view.read(p.p_offset, p.p_filesz, "PT_DYNAMIC");
  for (size_t at = 0; at + sizeof(Dyn) <= bytes.size(); at += sizeof(Dyn)) {
    Dyn d;
    std::memcpy(&d, bytes.data() + at, sizeof(Dyn));
    if (d.d_tag == DT_NULL) break;
    file.dynamic.push_back(d);
  }
  std::optional<uint64_t> strtab = file.dynamic_value(DT_STRTAB);
  std::optional<uint64_t> strsz = file.dynamic_value(DT_STRSZ);
  if (!strtab && !strsz) return;
  if (!strtab || !strsz) throw ElfError("corrupt ELF: DT_STRTAB without DT_STRSZ or vice versa");
  std::optional<uint64_t> str_offset = file.vaddr_to_offset(*strtab, *strsz);
  if (!str_offset) throw ElfError("corrupt ELF: DT_STRTAB is not inside a PT_LOAD");
  file.strtab_vaddr = *strtab;
  file.strtab_offset = *str_offset;
  file.strtab_size = *strsz;
  file.has_strtab = true;
}

}  // namespace

ElfFile read_program_headers(const FileView& view) {
  ElfFile file;
  file.view = &view;
  if (view.size() < SELFMAG) throw ElfError("not an ELF file");
  std::vector<unsigned char> magic = view.read(0, SELFMAG, "ELF magic");
  if (std::memcmp(magic.data(), ELFMAG, SELFMAG) != 0) throw ElfError("not an ELF file");
  if (view.size() < sizeof(Ehdr)) throw ElfError("truncated ELF: file shorter than the ELF header");
  file.ehdr = view.read_struct<Ehdr>(0, "ELF header");
  check_ident(file.ehdr);
  const Ehdr& eh = file.ehdr;
  if (eh.e_phnum != 0) {
    if (eh.e_phentsize != sizeof(Phdr)) throw ElfError("corrupt ELF: bad e_phentsize");
    if (eh.e_phnum == PN_XNUM) throw ElfError("unsupported ELF: extended program header count");
    std::vector<unsigned char> bytes =
        view.read(eh.e_phoff, uint64_t{eh.e_phnum} * sizeof(Phdr), "program headers");
    file.phdrs.resize(eh.e_phnum);
    std::memcpy(file.phdrs.data(), bytes.data(), bytes.size());
  }
  check_load_segments(view, file.phdrs);
  return file;
}

ElfFile read_elf(const FileView& view) {
  ElfFile file = read_program_headers(view);
  read_section_headers(view, file);
  read_dynamic(view, file);
  return file;
}

}  // namespace netleash::elf
