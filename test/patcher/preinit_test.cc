// The preinit hook (preinit_hook.h): DT_PREINIT_ARRAY, the PIE relocation, W^X
// parameters, idempotence, re-patch and --remove, and the files that keep the
// shim's constructor as their seal.
#include <catch2/catch.hpp>

#include <algorithm>

#include "patcher/preinit/preinit_blob.h"
#include "test_util.h"

using namespace nltest;

namespace {

struct Parsed {
  Bytes bytes;
  MemFd fd;
  FileView view;
  ElfFile file;
  explicit Parsed(const Bytes& b) : bytes(b), fd(b), view(fd.fd), file(read_elf(view)) {}

  std::vector<const Dyn*> all(int64_t tag) const {
    std::vector<const Dyn*> out;
    for (const Dyn& d : file.dynamic) {
      if (d.d_tag == tag) out.push_back(&d);
    }
    return out;
  }
  // glibc keeps the last entry of a tag.
  uint64_t last(int64_t tag) const { return all(tag).empty() ? 0 : uint64_t{all(tag).back()->d_val}; }
  uint64_t offset_of(uint64_t vaddr) const { return file.vaddr_to_offset(vaddr, 1).value(); }
  const Phdr& segment() const {
    const Phdr* last_load = nullptr;
    for (const Phdr& p : file.phdrs) {
      if (p.p_type == PT_LOAD) last_load = &p;
    }
    return *last_load;
  }
  bool has_section(const std::string& name) const {
    for (size_t i = 0; i < file.shdrs.size(); ++i) {
      if (file.section_name(i) == name) return true;
    }
    return false;
  }
};

// The fixture with its dynamic entry `from` retagged `to` (same value).
Bytes retag(Bytes b, int64_t from, int64_t to) {
  Parsed in(b);
  const Phdr& dyn = in.file.phdrs[*in.file.dynamic_index];
  for (uint64_t at = dyn.p_offset; at + sizeof(Dyn) <= dyn.p_offset + dyn.p_filesz; at += sizeof(Dyn)) {
    Dyn d = get<Dyn>(b, at);
    if (d.d_tag == from) {
      d.d_tag = to;
      put(b, at, d);
      return b;
    }
  }
  throw std::runtime_error("no such dynamic entry");
}

}  // namespace

TEST_CASE("a PIE gets DT_PREINIT_ARRAY and a relocated slot after its own relocations", "[preinit]") {
  Parsed in(read_file(kFixture));
  REQUIRE(in.file.ehdr.e_type == ET_DYN);
  Parsed out(run_pipeline(in.bytes, patch_request("pie")).value());
  const Phdr& seg = out.segment();
  CHECK(seg.p_flags == (PF_R | PF_W | PF_X));

  // One slot in the segment; the original DT_RELA entries stay, ours come after them.
  REQUIRE(out.all(DT_PREINIT_ARRAY).size() == 1);
  CHECK(out.last(DT_PREINIT_ARRAYSZ) == 8);
  const uint64_t slot = out.last(DT_PREINIT_ARRAY);
  CHECK((slot >= seg.p_vaddr && slot + 8 <= seg.p_vaddr + seg.p_filesz));
  REQUIRE(out.all(DT_RELA).size() == 2);
  CHECK(out.all(DT_RELA)[0]->d_val == in.last(DT_RELA));
  CHECK(out.last(DT_RELACOUNT) == in.last(DT_RELACOUNT));
  CHECK(out.all(DT_RELAENT).size() == 1);

  // The new table: the old one byte for byte, then RELATIVE(slot) = entry.
  const uint64_t rela = out.offset_of(out.last(DT_RELA)), relasz = out.last(DT_RELASZ);
  const uint64_t old_rela = in.offset_of(in.last(DT_RELA)), old_relasz = in.last(DT_RELASZ);
  REQUIRE(relasz == old_relasz + sizeof(Rela));
  CHECK(std::equal(in.bytes.begin() + static_cast<long>(old_rela),
                   in.bytes.begin() + static_cast<long>(old_rela + old_relasz),
                   out.bytes.begin() + static_cast<long>(rela)));
  Rela ours = get<Rela>(out.bytes, rela + old_relasz);
  CHECK(ours.r_offset == slot);
  CHECK(ours.r_info == R_X86_64_RELATIVE);
  const uint64_t entry = static_cast<uint64_t>(int64_t{ours.r_addend});
  CHECK(get<uint64_t>(out.bytes, out.offset_of(slot)) == entry);

  // The blob: on a page of its own at the end of the segment, the parameters filled in.
  const uint64_t blob = entry - netleash::elf::preinit::kEntryOffset;
  CHECK(blob % 4096 == 0);
  CHECK(blob + netleash::elf::preinit::kBlobSize == seg.p_vaddr + seg.p_memsz);
  const uint64_t blob_offset = out.offset_of(blob);
  CHECK(get<uint64_t>(out.bytes, blob_offset) == blob - seg.p_vaddr);
  CHECK(get<uint64_t>(out.bytes, blob_offset + 8) == seg.p_memsz);
  CHECK(std::equal(netleash::elf::preinit::kBlob + 16,
                   netleash::elf::preinit::kBlob + netleash::elf::preinit::kBlobSize,
                   out.bytes.begin() + static_cast<long>(blob_offset + 16)));
  CHECK(out.has_section(".netleash.preinit"));
  CHECK(out.has_section(".netleash.rela"));
  CHECK(out.has_section(".preinit_array"));
}

TEST_CASE("an ET_EXEC slot holds the absolute entry address, no relocation", "[preinit]") {
  Bytes b = read_file(kFixture);
  Ehdr eh = get<Ehdr>(b, 0);
  eh.e_type = ET_EXEC;  // the plan does not care that the code is position-independent
  put(b, 0, eh);
  Parsed out(run_pipeline(b, patch_request("exec")).value());
  REQUIRE(out.all(DT_PREINIT_ARRAY).size() == 1);
  CHECK(out.all(DT_RELA).size() == 1);
  const uint64_t entry = get<uint64_t>(out.bytes, out.offset_of(out.last(DT_PREINIT_ARRAY)));
  CHECK((entry - netleash::elf::preinit::kEntryOffset) % 4096 == 0);
  CHECK(entry < out.segment().p_vaddr + out.segment().p_memsz);
  CHECK_FALSE(out.has_section(".netleash.rela"));
}

TEST_CASE("the hook survives re-patching, goes with --remove, and comes back", "[preinit]") {
  Bytes input = read_file(kFixture);
  Bytes a = run_pipeline(input, patch_request("a")).value();
  CHECK_FALSE(run_pipeline(a, patch_request("a")).has_value());
  Bytes b = run_pipeline(a, patch_request("b")).value();
  Parsed pb(b);
  CHECK(pb.all(DT_PREINIT_ARRAY).size() == 1);
  CHECK(pb.all(DT_RELA).size() == 2);
  CHECK(run_pipeline(b, patch_request("a")).value() == a);  // byte-identical round trip

  Parsed removed(run_pipeline(b, remove_request()).value());
  CHECK(removed.all(DT_PREINIT_ARRAY).empty());
  CHECK(removed.all(DT_RELA).size() == 1);
  CHECK(removed.all(DT_RELAENT).size() == 1);
  CHECK(removed.segment().p_flags == (PF_R | PF_W));
  CHECK_FALSE(removed.has_section(".netleash.preinit"));
  CHECK_FALSE(removed.has_section(".preinit_array"));
  CHECK_FALSE(removed.has_section(".netleash.rela"));
  Parsed again(run_pipeline(removed.bytes, patch_request("c")).value());
  CHECK(again.all(DT_PREINIT_ARRAY).size() == 1);
  CHECK(again.all(DT_RELA).size() == 2);
}

TEST_CASE("a file patched without the hook gets it when patched again with the same id", "[preinit]") {
  Bytes hooked = run_pipeline(read_file(kFixture), patch_request("old")).value();
  // What the previous netleash-patch wrote: the same segment, RW, no hook entries.
  Bytes old = hooked;
  Parsed p(old);
  const Phdr& dyn = p.file.phdrs[*p.file.dynamic_index];
  for (uint64_t at = dyn.p_offset; at < dyn.p_offset + dyn.p_filesz; at += sizeof(Dyn)) {
    if (get<Dyn>(old, at).d_tag == DT_PREINIT_ARRAY) {
      std::fill(old.begin() + static_cast<long>(at), old.begin() + static_cast<long>(dyn.p_offset + dyn.p_filesz), 0);
      break;
    }
  }
  for (size_t i = 0; i < p.file.phdrs.size(); ++i) {
    Phdr ph = phdr_at(old, i);
    if (ph.p_flags == (PF_R | PF_W | PF_X)) ph.p_flags = PF_R | PF_W, set_phdr(old, i, ph);
  }
  Parsed unhooked(old);
  REQUIRE(unhooked.all(DT_PREINIT_ARRAY).empty());
  REQUIRE(unhooked.all(DT_RELA).size() == 1);
  CHECK(run_pipeline(old, patch_request("old")).value() == hooked);
}

TEST_CASE("a program with its own DT_PREINIT_ARRAY keeps the shim's constructor as its seal",
          "[preinit]") {
  Bytes b = retag(read_file(kFixture), DT_DEBUG, DT_PREINIT_ARRAYSZ);  // value 0: an empty array
  MemFd fd(b);
  FileView view(fd.fd);
  ElfFile file = read_elf(view);
  std::optional<Plan> plan = make_plan(file, classify(file, FileFacts{}), patch_request("asan"));
  REQUIRE(plan);
  CHECK_FALSE(plan->hook.has_value());
  CHECK(plan->seal_refusal.value_or("").find("DT_PREINIT_ARRAY") != std::string::npos);
  CHECK(plan->phdrs[plan->segment_index].p_flags == (PF_R | PF_W));
  CHECK(validate(file, *plan).empty());
  Parsed out(run_pipeline(b, patch_request("asan")).value());
  CHECK(out.all(DT_PREINIT_ARRAYSZ).size() == 1);
  CHECK(out.all(DT_PREINIT_ARRAY).empty());
}

TEST_CASE("a PIE with DT_REL relocations keeps the shim's constructor as its seal", "[preinit]") {
  Bytes b = retag(read_file(kFixture), DT_DEBUG, DT_REL);
  MemFd fd(b);
  FileView view(fd.fd);
  ElfFile file = read_elf(view);
  std::optional<Plan> plan = make_plan(file, classify(file, FileFacts{}), patch_request("rel"));
  REQUIRE(plan);
  CHECK_FALSE(plan->hook.has_value());
  CHECK(plan->seal_refusal.value_or("").find("DT_REL") != std::string::npos);
}

TEST_CASE("validate checks the hook's invariants", "[preinit]") {
  Bytes input = read_file(kFixture);
  MemFd fd(input);
  FileView view(fd.fd);
  ElfFile file = read_elf(view);
  std::optional<Plan> plan = make_plan(file, classify(file, FileFacts{}), patch_request("v"));
  REQUIRE(plan);
  REQUIRE(plan->hook);
  CHECK(validate(file, *plan).empty());
  Plan bad = *plan;
  bad.phdrs[bad.segment_index].p_flags = PF_R | PF_W;  // the blob could not run
  CHECK_FALSE(validate(file, bad).empty());
  bad = *plan;
  bad.hook->slot_vaddr += 8;
  CHECK_FALSE(validate(file, bad).empty());
  bad = *plan;
  bad.hook->blob_vaddr += 16;  // off its page
  CHECK_FALSE(validate(file, bad).empty());
  bad = *plan;
  // Our DT_RELA before the original: glibc would keep the original, the slot stays 0.
  auto ours = std::find_if(bad.dynamic.rbegin(), bad.dynamic.rend(), [](const Dyn& d) { return d.d_tag == DT_RELA; });
  auto original = std::find_if(bad.dynamic.begin(), bad.dynamic.end(), [](const Dyn& d) { return d.d_tag == DT_RELA; });
  std::swap(ours->d_val, original->d_val);
  CHECK_FALSE(validate(file, bad).empty());
}
