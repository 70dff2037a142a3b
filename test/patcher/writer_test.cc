// The plan, validate and write passes on a copy of /usr/bin/true, and re-patching.
#include <catch2/catch.hpp>

#include "common/elf/identity_record.h"
#include "common/elf/notes.h"
#include "test_util.h"

using namespace nltest;

namespace {

struct Parsed {
  MemFd fd;
  FileView view;
  ElfFile file;
  explicit Parsed(const Bytes& bytes) : fd(bytes), view(fd.fd), file(read_elf(view)) {}
  std::vector<std::string> needed() const {
    std::vector<std::string> names;
    for (const Dyn& d : file.dynamic) {
      if (d.d_tag == DT_NEEDED) names.push_back(file.dynamic_string(d.d_val));
    }
    return names;
  }
  std::string app() const {
    std::string app, error;
    CHECK(read_app_id(fd.fd, &app, &error));
    return app;
  }
};

const Phdr* last_load(const ElfFile& file) {
  const Phdr* last = nullptr;
  for (const Phdr& p : file.phdrs) {
    if (p.p_type == PT_LOAD) last = &p;
  }
  return last;
}

}  // namespace

TEST_CASE("plan appends one PT_LOAD past every segment, congruent with its offset", "[plan]") {
  Bytes input = read_file(kFixture);
  MemFd fd(input);
  FileView view(fd.fd);
  ElfFile file = read_elf(view);
  Classification cls = classify(file, FileFacts{});
  std::optional<Plan> plan = make_plan(file, cls, patch_request("demo"));
  REQUIRE(plan);
  CHECK(validate(file, *plan).empty());
  const Phdr& seg = plan->phdrs[plan->segment_index];
  CHECK(seg.p_type == PT_LOAD);
  CHECK(seg.p_flags == (PF_R | PF_W | PF_X));  // the preinit hook runs from it (preinit_test.cc)
  CHECK(seg.p_offset % seg.p_align == 0);
  CHECK(seg.p_vaddr % seg.p_align == 0);
  CHECK(seg.p_offset >= input.size());
  for (const Phdr& p : file.phdrs) {
    if (p.p_type == PT_LOAD) CHECK(p.p_vaddr + p.p_memsz <= seg.p_vaddr);
  }
  // The shim is the first entry; the old entries follow with STRTAB/STRSZ updated, then
  // the hook's DT_PREINIT_ARRAY, DT_PREINIT_ARRAYSZ, DT_RELA and DT_RELASZ.
  REQUIRE(plan->dynamic.size() == file.dynamic.size() + 1 + 4 + 5);
  CHECK(plan->dynamic[0].d_tag == DT_NEEDED);
  CHECK(plan->dynamic.back().d_tag == DT_NULL);
  CHECK(plan->dynstr_size == file.strtab_size + sizeof("libnetleash.so.1"));
  // The input's bytes are kept: the first piece copies the whole input.
  CHECK(plan->pieces[0].bytes.empty());
  CHECK(plan->pieces[0].length == input.size());
}

TEST_CASE("validate rejects broken layouts", "[plan]") {
  Bytes input = read_file(kFixture);
  MemFd fd(input);
  FileView view(fd.fd);
  ElfFile file = read_elf(view);
  std::optional<Plan> plan = make_plan(file, classify(file, FileFacts{}), patch_request("demo"));
  REQUIRE(plan);
  Plan bad = *plan;
  bad.phdrs[bad.segment_index].p_vaddr = bad.phdrs[bad.segment_index].p_vaddr + 16;
  CHECK_FALSE(validate(file, bad).empty());
  bad = *plan;
  bad.phdrs[bad.segment_index].p_flags = PF_R | PF_W | PF_X;
  bad.hook.reset();  // W+X without the hook that restores W^X
  CHECK_FALSE(validate(file, bad).empty());
  bad = *plan;
  bad.phdrs[bad.segment_index].p_flags = PF_R;  // .dynamic must be writable
  CHECK_FALSE(validate(file, bad).empty());
  bad = *plan;
  bad.dynstr_size += 1;
  CHECK_FALSE(validate(file, bad).empty());
  bad = *plan;
  std::swap(bad.dynamic[0], bad.dynamic[1]);
  CHECK_FALSE(validate(file, bad).empty());
}

TEST_CASE("writer output has the shim first, the identity note, and the old bytes", "[write]") {
  Bytes input = read_file(kFixture);
  Bytes output = run_pipeline(input, patch_request("demo.app", "/opt/x/libshim.so")).value();
  Parsed out(output);
  CHECK(out.needed() == std::vector<std::string>{"/opt/x/libshim.so", "libc.so.6"});
  CHECK(out.app() == "demo.app");
  // Every byte of the input loaded image is unchanged except the ELF and program headers.
  Ehdr eh = get<Ehdr>(input, 0);
  uint64_t headers_end = eh.e_phoff + eh.e_phnum * sizeof(Phdr);
  CHECK(std::equal(input.begin() + static_cast<long>(headers_end),
                   input.begin() + static_cast<long>(eh.e_shoff),
                   output.begin() + static_cast<long>(headers_end)));
  // The note has a section header so strip keeps it and `readelf -n` shows it.
  bool found = false;
  for (size_t i = 0; i < out.file.shdrs.size(); ++i) {
    if (out.file.section_name(i) == ".note.netleash.app") {
      found = out.file.shdrs[i].sh_type == SHT_NOTE && (out.file.shdrs[i].sh_flags & SHF_ALLOC);
    }
  }
  CHECK(found);
  // PT_DYNAMIC and the .dynamic section header agree and live in the last, writable PT_LOAD.
  const Phdr& dyn = out.file.phdrs[*out.file.dynamic_index];
  const Phdr* seg = last_load(out.file);
  CHECK((seg->p_flags & PF_W));
  CHECK(dyn.p_offset >= seg->p_offset);
  for (const Shdr& s : out.file.shdrs) {
    if (s.sh_type == SHT_DYNAMIC) CHECK(s.sh_offset == dyn.p_offset);
  }
}

TEST_CASE("re-patching with the same id and shim changes nothing", "[write]") {
  Bytes once = run_pipeline(read_file(kFixture), patch_request("same")).value();
  CHECK_FALSE(run_pipeline(once, patch_request("same")).has_value());
}

TEST_CASE("re-patching with another id updates it without a second shim entry", "[write]") {
  Bytes once = run_pipeline(read_file(kFixture), patch_request("first")).value();
  Bytes twice = run_pipeline(once, patch_request("second-id")).value();
  Parsed out(twice);
  CHECK(out.app() == "second-id");
  CHECK(out.needed() == std::vector<std::string>{"libnetleash.so.1", "libc.so.6"});
  // The netleash segment is rewritten in place, not stacked.
  CHECK(twice.size() <= once.size() + 64);
  CHECK(out.file.phdrs.size() == Parsed(once).file.phdrs.size());
  // And back: the same bytes as patching the original with that id.
  Bytes back = run_pipeline(twice, patch_request("first")).value();
  CHECK(Parsed(back).app() == "first");
}

TEST_CASE("remove drops the shim entry and the identity record", "[write]") {
  Bytes input = read_file(kFixture);
  Bytes patched = run_pipeline(input, patch_request("gone")).value();
  Bytes removed = run_pipeline(patched, remove_request()).value();
  Parsed out(removed);
  CHECK(out.needed() == std::vector<std::string>{"libc.so.6"});
  std::string app, error;
  CHECK_FALSE(read_app_id(out.fd.fd, &app, &error));
  CHECK(error.empty());
  CHECK_FALSE(find_identity_note(out.file).has_value());
  // Patching again reuses the segment --remove left behind instead of adding another.
  Bytes again = run_pipeline(removed, patch_request("back")).value();
  CHECK(Parsed(again).app() == "back");
  CHECK(Parsed(again).file.phdrs.size() == Parsed(patched).file.phdrs.size());
  CHECK(again.size() <= patched.size() + 64);
  // Removing from an unpatched file is a no-op.
  CHECK_FALSE(run_pipeline(input, remove_request()).has_value());
}

TEST_CASE("an existing DT_NEEDED for the shim is not duplicated", "[write]") {
  Bytes once = run_pipeline(read_file(kFixture), patch_request("a", "libc.so.6")).value();
  CHECK(Parsed(once).needed() == std::vector<std::string>{"libc.so.6"});
}

TEST_CASE("with no free slot and no section headers the table moves and PT_PHDR follows",
          "[plan]") {
  Bytes b = read_file(kFixture);
  // No section headers (so nothing proves what follows the table) and no redundant note.
  Ehdr eh = get<Ehdr>(b, 0);
  eh.e_shoff = 0;
  eh.e_shnum = 0;
  eh.e_shstrndx = 0;
  put(b, 0, eh);
  if (std::optional<size_t> prop = find_phdr(b, PT_GNU_PROPERTY)) {
    Phdr p = phdr_at(b, *prop);
    p.p_type = PT_GNU_STACK + 0x100;  // an unknown OS type: the PT_NOTE is no longer redundant
    set_phdr(b, *prop, p);
  }
  Bytes output = run_pipeline(b, patch_request("moved")).value();
  Parsed out(output);
  CHECK(out.app() == "moved");
  const Phdr* seg = last_load(out.file);
  CHECK(out.file.ehdr.e_phoff == seg->p_offset);
  for (const Phdr& p : out.file.phdrs) {
    if (p.p_type == PT_PHDR) {
      CHECK(p.p_offset == seg->p_offset);
      CHECK(p.p_vaddr == seg->p_vaddr);
      CHECK(p.p_filesz == out.file.phdrs.size() * sizeof(Phdr));
    }
  }
  // Re-patching keeps the table in the segment and changes only the id.
  Parsed again(run_pipeline(output, patch_request("moved-again")).value());
  CHECK(again.app() == "moved-again");
  CHECK(again.needed() == std::vector<std::string>{"libnetleash.so.1", "libc.so.6"});
}

TEST_CASE("an ordinary GNU ld PIE keeps its program header table in place", "[plan]") {
  Bytes input = read_file(kFixture);
  MemFd fd(input);
  FileView view(fd.fd);
  ElfFile file = read_elf(view);
  std::optional<Plan> plan = make_plan(file, classify(file, FileFacts{}), patch_request("x"));
  REQUIRE(plan);
  CHECK(plan->ehdr.e_phoff == file.ehdr.e_phoff);
  CHECK(plan->ehdr.e_phnum == file.ehdr.e_phnum);
}

TEST_CASE("a redundant PT_NOTE reused as a slot is never also the note group", "[plan]") {
  // Found by the fuzzer: the PT_NOTE duplicating PT_GNU_PROPERTY, if 4-aligned, looked
  // groupable; using its slot for the PT_LOAD then lost the identity note's PT_NOTE.
  Bytes b = read_file(kFixture);
  std::optional<size_t> prop = find_phdr(b, PT_GNU_PROPERTY);
  REQUIRE(prop);
  Ehdr eh = get<Ehdr>(b, 0);
  for (size_t i = 0; i < eh.e_phnum; ++i) {
    Phdr p = phdr_at(b, i);
    if (p.p_type == PT_NOTE && p.p_offset == phdr_at(b, *prop).p_offset) {
      p.p_align = 4;
      set_phdr(b, i, p);
    }
  }
  Parsed out(run_pipeline(b, patch_request("grouped")).value());
  CHECK(out.app() == "grouped");
}
