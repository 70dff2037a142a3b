// The read pass: every offset and size from the file is bounds-checked.
#include <catch2/catch.hpp>

#include "test_util.h"

using namespace nltest;

namespace {

std::string read_error(const Bytes& bytes) {
  MemFd fd(bytes);
  try {
    FileView view(fd.fd);
    read_elf(view);
  } catch (const ElfError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("reader accepts the fixture and finds its dynamic table", "[reader]") {
  Bytes bytes = read_file(kFixture);
  MemFd fd(bytes);
  FileView view(fd.fd);
  ElfFile file = read_elf(view);
  CHECK(file.dynamic_index.has_value());
  CHECK(file.has_strtab);
  CHECK_FALSE(file.dynamic.empty());
  CHECK(file.dynamic_string(file.dynamic_value(DT_NEEDED).value()) == "libc.so.6");
}

TEST_CASE("reader refuses files that are not ELF", "[reader]") {
  CHECK(read_error(Bytes{}) == "not an ELF file");
  CHECK(read_error(Bytes{'#', '!', '/', 'b', 'i', 'n'}) == "not an ELF file");
  Bytes bytes = read_file(kFixture);
  bytes[0] = 'X';
  CHECK(read_error(bytes) == "not an ELF file");
}

TEST_CASE("reader refuses every truncation of the fixture", "[reader]") {
  Bytes bytes = read_file(kFixture);
  // Every prefix shorter than the end of the last PT_LOAD is refused, never read past.
  for (size_t cut : {size_t{4}, size_t{20}, size_t{63}, size_t{64}, size_t{100}, size_t{700},
                     bytes.size() / 4, bytes.size() / 2, bytes.size() - 5000}) {
    Bytes prefix(bytes.begin(), bytes.begin() + static_cast<long>(cut));
    INFO("cut at " << cut);
    std::string error = read_error(prefix);
    CHECK(error.find("truncated") != std::string::npos);
  }
}

TEST_CASE("reader refuses unsupported class, byte order and corrupt headers", "[reader]") {
  Bytes bytes = read_file(kFixture);
  Bytes b = bytes;
  b[EI_CLASS] = ELFCLASS32;
  CHECK(read_error(b).find("class") != std::string::npos);
  b = bytes;
  b[EI_DATA] = ELFDATA2MSB;
  CHECK(read_error(b).find("byte order") != std::string::npos);

  b = bytes;
  Ehdr eh = get<Ehdr>(b, 0);
  eh.e_phentsize = 32;
  put(b, 0, eh);
  CHECK(read_error(b).find("e_phentsize") != std::string::npos);

  b = bytes;
  eh = get<Ehdr>(b, 0);
  eh.e_phoff = UINT64_MAX - 8;  // offset + size overflows
  put(b, 0, eh);
  CHECK(read_error(b).find("outside the file") != std::string::npos);

  b = bytes;
  eh = get<Ehdr>(b, 0);
  eh.e_shoff = b.size() - 10;
  put(b, 0, eh);
  CHECK(read_error(b).find("section headers") != std::string::npos);

  b = bytes;
  size_t load = find_phdr(b, PT_LOAD).value();
  Phdr p = phdr_at(b, load);
  p.p_filesz = b.size() * 2;
  p.p_memsz = b.size() * 2;
  set_phdr(b, load, p);
  CHECK(read_error(b).find("past the end") != std::string::npos);

  b = bytes;
  p = phdr_at(b, load);
  p.p_vaddr = p.p_vaddr + 8;  // offset and address no longer congruent
  set_phdr(b, load, p);
  CHECK(read_error(b).find("modulo") != std::string::npos);

  b = bytes;
  size_t dyn = find_phdr(b, PT_DYNAMIC).value();
  p = phdr_at(b, dyn);
  p.p_vaddr = 0x7fff0000;  // not inside any PT_LOAD
  set_phdr(b, dyn, p);
  CHECK(read_error(b).find("PT_DYNAMIC") != std::string::npos);
}

TEST_CASE("reader refuses a DT_STRTAB outside the loaded image", "[reader]") {
  Bytes b = read_file(kFixture);
  Phdr dyn = phdr_at(b, find_phdr(b, PT_DYNAMIC).value());
  for (uint64_t at = dyn.p_offset; at + sizeof(Dyn) <= dyn.p_offset + dyn.p_filesz;
       at += sizeof(Dyn)) {
    Dyn d = get<Dyn>(b, at);
    if (d.d_tag == DT_STRTAB) {
      d.d_val = 0x7fffffff00;
      put(b, at, d);
    }
  }
  CHECK(read_error(b).find("DT_STRTAB") != std::string::npos);
}
