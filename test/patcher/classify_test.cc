// The classify pass: refusal rules.
#include <catch2/catch.hpp>

#include "test_util.h"

using namespace nltest;

namespace {

Classification classify_bytes(const Bytes& bytes, FileFacts facts = {}) {
  MemFd fd(bytes);
  FileView view(fd.fd);
  ElfFile file = read_elf(view);
  return classify(file, facts);
}

}  // namespace

TEST_CASE("an ordinary PIE is dynamic and interposable", "[classify]") {
  Classification c = classify_bytes(read_file(kFixture));
  CHECK(c.linkage == Linkage::Dynamic);
  CHECK(c.interposable);
  CHECK_FALSE(c.reason);
  CHECK_FALSE(c.go);
  CHECK_FALSE(c.record);
}

TEST_CASE("no PT_INTERP with DF_1_PIE is static-pie; ET_EXEC without it is static", "[classify]") {
  Bytes b = read_file(kFixture);
  size_t interp = find_phdr(b, PT_INTERP).value();
  Phdr p = phdr_at(b, interp);
  p.p_type = PT_NULL;
  set_phdr(b, interp, p);
  Classification c = classify_bytes(b);
  CHECK(c.linkage == Linkage::StaticPie);
  CHECK_FALSE(c.interposable);
  CHECK(c.reason->find("static-pie") != std::string::npos);

  Ehdr eh = get<Ehdr>(b, 0);
  eh.e_type = ET_EXEC;
  put(b, 0, eh);
  c = classify_bytes(b);
  CHECK(c.linkage == Linkage::Static);
  CHECK(c.reason->find("statically linked") != std::string::npos);
}

TEST_CASE("unsupported ELF types are refused", "[classify]") {
  Bytes b = read_file(kFixture);
  Ehdr eh = get<Ehdr>(b, 0);
  eh.e_type = ET_REL;
  put(b, 0, eh);
  CHECK(classify_bytes(b).hard_reason->find("unsupported ELF type") != std::string::npos);
}

TEST_CASE("set-id and capabilities are refused unless allowed, but not hard refusals",
          "[classify]") {
  Bytes b = read_file(kFixture);
  Classification c = classify_bytes(b, FileFacts{true, false});
  CHECK(c.setuid);
  CHECK(c.reason->find("setuid") != std::string::npos);
  CHECK_FALSE(c.hard_reason);
  c = classify_bytes(b, FileFacts{false, true});
  CHECK(c.reason->find("capabilities") != std::string::npos);
}

TEST_CASE("a note with owner Go and type 4 marks a Go binary", "[classify]") {
  Bytes b = read_file(kFixture);
  // Turn the GNU build-id note into a Go build-id note (owner "Go", type 4).
  MemFd fd(b);
  FileView view(fd.fd);
  ElfFile file = read_elf(view);
  std::optional<Note> build_id;
  for_each_note(file, [&](const Note& n) {
    if (n.owner == "GNU" && n.type == NT_GNU_BUILD_ID) build_id = n;
    return !build_id;
  });
  REQUIRE(build_id);
  Nhdr h = get<Nhdr>(b, build_id->offset);
  h.n_type = 4;
  put(b, build_id->offset, h);
  std::memcpy(b.data() + build_id->offset + sizeof(Nhdr), "Go\0\0", 4);
  Classification c = classify_bytes(b);
  CHECK(c.go);
  CHECK_FALSE(c.interposable);
  CHECK(c.hard_reason->find("Go binary") != std::string::npos);
}

TEST_CASE("the Go build-info magic in the data segment marks a Go binary", "[classify]") {
  Bytes b = read_file(kFixture);
  for (const Phdr& p : [&] {
         MemFd fd(b);
         FileView view(fd.fd);
         return read_elf(view).phdrs;
       }()) {
    if (p.p_type == PT_LOAD && (p.p_flags & PF_W) && !(p.p_flags & PF_X)) {
      uint64_t at = align_up(p.p_offset, 16);
      std::memcpy(b.data() + at, "\xff Go buildinf:", 14);
      break;
    }
  }
  CHECK(classify_bytes(b).go);
}
