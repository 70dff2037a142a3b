// lief-check: checks a file netleash-patch wrote against the file it read, with LIEF's ELF
// parser. The patcher reads and writes ELF with code of its own, and its validator checks its
// own plan; a second, independent parser catches what both of those could get wrong the same
// way. LIEF reads every program in /usr/bin (its writer is what was unreliable, see README.md).
//
// usage: lief-check --app ID --shim NAME --seal preinit|constructor ORIGINAL PATCHED
//        lief-check --removed ORIGINAL OUTPUT      (the output of netleash-patch --remove)
//
// ORIGINAL is the unpatched program, also when PATCHED was made from an already patched copy.
// Silent with exit 0 when every check passes; otherwise one line per mismatch,
// "lief-check: PATCHED: what: expected ..., found ...", and exit 1; exit 2 for a usage error.
#include <LIEF/ELF.hpp>
#include <LIEF/logging.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <iterator>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

using namespace LIEF::ELF;

constexpr uint32_t kIdentityNoteType = 1;  // owner "netleash" (NT_NETLEASH_APP, src/patcher/)
constexpr uint32_t kRelative = 8;          // R_X86_64_RELATIVE
constexpr uint64_t kRelaSize = 24;         // sizeof(Elf64_Rela)

struct Expect {
  bool removed = false;
  std::string app, shim, seal;
  std::string original, output;
};

class Checker {
 public:
  Checker(const Expect& expect, const Binary& in, const Binary& out)
      : expect_(expect), in_(in), out_(out) {}

  int run() {
    check_segments();
    check_dynamic();
    check_note();
    check_symbols();
    check_relocations();
    return failures_ == 0 ? 0 : 1;
  }

 private:
  void fail(const std::string& what) {
    std::fprintf(stderr, "lief-check: %s: %s\n", expect_.output.c_str(), what.c_str());
    ++failures_;
  }

  static std::string hex(uint64_t v) {
    std::ostringstream s;
    s << "0x" << std::hex << v;
    return s.str();
  }

  static std::vector<const Segment*> loads(const Binary& b) {
    std::vector<const Segment*> list;
    for (const Segment& s : b.segments()) {
      if (s.type() == SEGMENT_TYPES::PT_LOAD) list.push_back(&s);
    }
    return list;
  }

  static bool same_header(const Segment& a, const Segment& b) {
    return a.type() == b.type() && a.flags() == b.flags() && a.file_offset() == b.file_offset() &&
           a.virtual_address() == b.virtual_address() && a.physical_size() == b.physical_size() &&
           a.virtual_size() == b.virtual_size() && a.alignment() == b.alignment();
  }

  // The PT_LOADs the patcher added: those the original does not have.
  std::vector<const Segment*> new_loads() const {
    std::vector<const Segment*> added;
    for (const Segment* o : loads(out_)) {
      bool old = false;
      for (const Segment* i : loads(in_)) old = old || same_header(*i, *o);
      if (!old) added.push_back(o);
    }
    return added;
  }

  bool in_new_load(uint64_t vaddr, uint64_t size, bool executable = false) const {
    for (const Segment* s : new_loads()) {
      if (vaddr >= s->virtual_address() &&
          vaddr + size <= s->virtual_address() + s->virtual_size() &&
          (!executable || s->has(ELF_SEGMENT_FLAGS::PF_X))) {
        return true;
      }
    }
    return false;
  }

  // Nothing the loader or the program refers to moves; the netleash segment is appended on a
  // boundary of the largest p_align; what the loader reads lies inside a PT_LOAD.
  void check_segments() {
    uint64_t align = 0x1000, end = 0;
    for (const Segment* i : loads(in_)) {
      align = std::max(align, i->alignment());
      end = std::max(end, i->virtual_address() + i->virtual_size());
      bool kept = false;
      for (const Segment* o : loads(out_)) kept = kept || same_header(*i, *o);
      if (!kept) fail("PT_LOAD at " + hex(i->virtual_address()) + " changed or missing");
    }
    std::vector<const Segment*> added = new_loads();
    if (added.empty() && !expect_.removed)
      fail("no netleash PT_LOAD segment: expected one new PT_LOAD, found none");
    for (const Segment* s : added) {
      if (s->file_offset() % align != 0 || s->virtual_address() % align != 0) {
        fail("netleash PT_LOAD not aligned to " + hex(align) + ": offset " + hex(s->file_offset()) +
             ", address " + hex(s->virtual_address()));
      }
      if (s->virtual_address() < end) {
        fail("netleash PT_LOAD at " + hex(s->virtual_address()) +
             " overlaps the original segments ending at " + hex(end));
      }
    }
    for (const Segment& s : out_.segments()) {
      switch (s.type()) {
        case SEGMENT_TYPES::PT_PHDR:
        case SEGMENT_TYPES::PT_INTERP:
        case SEGMENT_TYPES::PT_DYNAMIC:
        case SEGMENT_TYPES::PT_NOTE:
        case SEGMENT_TYPES::PT_GNU_EH_FRAME:
        case SEGMENT_TYPES::PT_TLS:
          break;
        default:
          continue;
      }
      if (s.physical_size() == 0) continue;  // an emptied PT_NOTE: nothing to read
      bool mapped = false;
      for (const Segment* l : loads(out_)) {
        mapped = mapped ||
                 (s.file_offset() >= l->file_offset() &&
                  s.file_offset() + s.physical_size() <= l->file_offset() + l->physical_size() &&
                  s.virtual_address() - l->virtual_address() == s.file_offset() - l->file_offset());
      }
      if (!mapped)
        fail(std::string(to_string(s.type())) + " at offset " + hex(s.file_offset()) +
             " outside every PT_LOAD");
    }
    if (!expect_.removed && out_.has(SEGMENT_TYPES::PT_DYNAMIC)) {
      const Segment& d = out_.get(SEGMENT_TYPES::PT_DYNAMIC);
      if (!in_new_load(d.virtual_address(), d.physical_size()))
        fail("PT_DYNAMIC not in the netleash segment");
    }
  }

  // The entries the loader reads: up to the first DT_NULL (LIEF lists those after it too).
  static std::vector<const DynamicEntry*> entries(const Binary& b) {
    std::vector<const DynamicEntry*> list;
    for (const DynamicEntry& d : b.dynamic_entries()) {
      if (d.tag() == DYNAMIC_TAGS::DT_NULL) break;
      list.push_back(&d);
    }
    return list;
  }

  // The value of the first entry with TAG the loader reads; `last` for the last one (where
  // glibc's elf_get_dynamic_info keeps the last of a tag).
  static std::optional<uint64_t> value(const Binary& b, DYNAMIC_TAGS tag, bool last = false) {
    std::optional<uint64_t> found;
    for (const DynamicEntry* d : entries(b)) {
      if (d->tag() != tag) continue;
      found = d->value();
      if (!last) break;
    }
    return found;
  }

  // An entry as the loader reads it: names, not string table offsets (the string table moved).
  static std::string describe(const DynamicEntry& d) {
    std::string tag = to_string(d.tag());
    if (auto* l = dynamic_cast<const DynamicEntryLibrary*>(&d)) return tag + " " + l->name();
    if (auto* r = dynamic_cast<const DynamicEntryRpath*>(&d)) return tag + " " + r->name();
    if (auto* r = dynamic_cast<const DynamicEntryRunPath*>(&d)) return tag + " " + r->name();
    if (auto* o = dynamic_cast<const DynamicSharedObject*>(&d)) return tag + " " + o->name();
    if (d.tag() == DYNAMIC_TAGS::DT_STRTAB || d.tag() == DYNAMIC_TAGS::DT_STRSZ) return tag;
    return tag + " " + hex(d.value());
  }

  // The shim first, then the original entries in their order, then (preinit seal) the hook's
  // block: DT_PREINIT_ARRAY, DT_PREINIT_ARRAYSZ and, in a PIE, the new DT_RELA/DT_RELASZ
  // (src/patcher/preinit_hook.h).
  void check_dynamic() {
    std::vector<const DynamicEntry*> in = entries(in_), out = entries(out_);
    if (out.empty()) return fail("no dynamic section");
    size_t at = 0;
    if (!expect_.removed) {
      std::string first = describe(*out[0]), want = "NEEDED " + expect_.shim;
      if (first != want) return fail("first dynamic entry: expected " + want + ", found " + first);
      at = 1;
    }
    for (const DynamicEntry* d : in) {
      std::string want = describe(*d), found = at < out.size() ? describe(*out[at]) : "the end";
      if (want != found)
        return fail("dynamic entry " + std::to_string(at) + ": expected " + want + ", found " +
                    found);
      ++at;
    }
    std::vector<DYNAMIC_TAGS> block;
    if (expect_.seal == "preinit") {
      block = {DYNAMIC_TAGS::DT_PREINIT_ARRAY, DYNAMIC_TAGS::DT_PREINIT_ARRAYSZ};
      if (out_.header().file_type() == E_TYPE::ET_DYN) {
        block.push_back(DYNAMIC_TAGS::DT_RELA);
        block.push_back(DYNAMIC_TAGS::DT_RELASZ);
        if (!value(in_, DYNAMIC_TAGS::DT_RELAENT)) block.push_back(DYNAMIC_TAGS::DT_RELAENT);
      }
    }
    std::string want, found;
    for (DYNAMIC_TAGS t : block) want += std::string(" ") + to_string(t);
    for (; at < out.size(); ++at) found += std::string(" ") + to_string(out[at]->tag());
    if (want != found)
      fail("entries after the original ones: expected [" + want + " ], found [" + found + " ]");
    if (expect_.seal == "preinit") check_preinit_slot();
  }

  // The one DT_PREINIT_ARRAY slot lies in the netleash segment and (ET_EXEC) holds the hook's
  // address in an executable part of it; a PIE's slot is checked through its relocation.
  void check_preinit_slot() {
    std::optional<uint64_t> array = value(out_, DYNAMIC_TAGS::DT_PREINIT_ARRAY);
    if (!array) return;
    uint64_t slot = *array;
    if (!in_new_load(slot, 8))
      return fail("DT_PREINIT_ARRAY slot " + hex(slot) + " not in the netleash segment");
    if (out_.header().file_type() != E_TYPE::ET_EXEC) return;
    std::vector<uint8_t> bytes = out_.get_content_from_virtual_address(slot, 8);
    uint64_t hook = 0;
    if (bytes.size() == 8) std::memcpy(&hook, bytes.data(), 8);
    if (!in_new_load(hook, 1, true))
      fail("DT_PREINIT_ARRAY holds " + hex(hook) +
           ", not an executable address in the netleash segment");
  }

  struct NoteRecord {
    std::string owner;
    uint32_t type;
    std::vector<uint8_t> desc;
  };

  // The notes of every PT_NOTE, decoded from the segment's bytes as LIEF reads them: LIEF 0.9's
  // own note list holds only the first PT_NOTE's notes when the file has no section headers.
  // Descriptors and next notes start at the segment's alignment (4, or 8 for
  // .note.gnu.property).
  static std::vector<NoteRecord> notes(const Binary& b) {
    std::vector<NoteRecord> list;
    for (const Segment& s : b.segments()) {
      if (s.type() != SEGMENT_TYPES::PT_NOTE) continue;
      std::vector<uint8_t> bytes = s.content();
      uint64_t align = s.alignment() == 8 ? 8 : 4, at = 0;
      auto padded = [&](uint64_t n) { return (n + align - 1) / align * align; };
      while (at + 12 <= bytes.size()) {
        uint32_t head[3];
        std::memcpy(head, &bytes[at], sizeof head);
        uint64_t name = at + 12, desc = padded(name + head[0]), next = padded(desc + head[1]);
        // The walk ends where it stops making sense: mold puts 4-byte-aligned notes in an
        // 8-aligned PT_NOTE. An identity note it cannot reach counts as missing.
        if (desc + head[1] > bytes.size()) break;  // the last note may omit its padding
        std::string owner(bytes.begin() + name, bytes.begin() + name + head[0]);
        list.push_back({owner.substr(0, owner.find('\0')),
                        head[2],
                        {bytes.begin() + desc, bytes.begin() + desc + head[1]}});
        at = next;
      }
    }
    return list;
  }

  void check_note() {
    int found = 0;
    for (const NoteRecord& n : notes(out_)) {
      if (n.owner != "netleash") continue;
      ++found;
      std::string text(n.desc.begin(), std::find(n.desc.begin(), n.desc.end(), 0));
      if (n.type != kIdentityNoteType) fail("identity note of type " + std::to_string(n.type));
      if (text != expect_.app || text.size() == n.desc.size())
        fail("identity note: expected app \"" + expect_.app + "\" and a NUL, found \"" + text +
             "\"");
    }
    int want = expect_.removed ? 0 : 1;
    if (found != want)
      fail("identity notes (owner netleash): expected " + std::to_string(want) + ", found " +
           std::to_string(found));
  }

  static std::vector<std::string> symbols(const Binary& b) {
    std::vector<std::string> list;
    for (const Symbol& s : b.dynamic_symbols()) {
      std::string version;
      if (s.has_version()) {
        version = "@" + std::to_string(s.symbol_version().value());
        if (s.symbol_version().has_auxiliary_version())
          version += " " + s.symbol_version().symbol_version_auxiliary().name();
      }
      list.push_back(s.name() + version + " " + to_string(s.type()) + " " + to_string(s.binding()) +
                     " " + to_string(s.visibility()) + " shndx " + std::to_string(s.shndx()) +
                     " value " + hex(s.value()) + " size " + std::to_string(s.size()));
    }
    return list;
  }

  // Relocations name symbols by index: the same symbols in the same order.
  void check_symbols() {
    std::vector<std::string> in = symbols(in_), out = symbols(out_);
    for (size_t i = 0; i < std::max(in.size(), out.size()); ++i) {
      std::string want = i < in.size() ? in[i] : "none", found = i < out.size() ? out[i] : "none";
      if (want != found)
        return fail("dynamic symbol " + std::to_string(i) + " (of " + std::to_string(in.size()) +
                    "): expected " + want + ", found " + found);
    }
  }

  struct Reloc {
    uint32_t type;
    uint64_t address;
    int64_t addend;
    std::string symbol;
    auto operator<=>(const Reloc&) const = default;
    std::string text() const {
      return "type " + std::to_string(type) + " at " + hex(address) + " addend " +
             hex(static_cast<uint64_t>(addend)) + (symbol.empty() ? "" : " " + symbol);
    }
  };
  using Relocs = std::multiset<Reloc>;

  static Relocs lief_relocs(const Binary& b, bool plt) {
    Relocs set;
    auto add = [&](const Relocation& r) {
      set.insert({r.type(), r.address(), r.addend(), r.has_symbol() ? r.symbol().name() : ""});
    };
    if (plt) {
      for (const Relocation& r : b.pltgot_relocations()) add(r);
    } else {
      for (const Relocation& r : b.dynamic_relocations()) add(r);
    }
    return set;
  }

  void compare(const std::string& what, const Relocs& want, const Relocs& found) {
    Relocs missing, extra;
    std::set_difference(want.begin(), want.end(), found.begin(), found.end(),
                        std::inserter(missing, missing.end()));
    std::set_difference(found.begin(), found.end(), want.begin(), want.end(),
                        std::inserter(extra, extra.end()));
    if (missing.empty() && extra.empty()) return;
    fail(what + ": expected " + std::to_string(want.size()) + ", found " +
         std::to_string(found.size()) +
         (missing.empty() ? "" : "; missing " + missing.begin()->text()) +
         (extra.empty() ? "" : "; unexpected " + extra.begin()->text()));
  }

  // The table the loader applies: glibc takes the last DT_RELA/DT_RELASZ (the preinit hook's
  // copy), LIEF the first (the original), so the last one is decoded here from LIEF's view of
  // the mapped bytes.
  std::optional<Relocs> effective_rela() {
    std::optional<uint64_t> rela = value(out_, DYNAMIC_TAGS::DT_RELA, true),
                            size = value(out_, DYNAMIC_TAGS::DT_RELASZ, true);
    if (!rela || !size || *size % kRelaSize != 0) return std::nullopt;
    std::vector<uint8_t> bytes = out_.get_content_from_virtual_address(*rela, *size);
    if (bytes.size() != *size) return std::nullopt;
    std::vector<const Symbol*> syms;
    for (const Symbol& s : out_.dynamic_symbols()) syms.push_back(&s);
    Relocs set;
    for (size_t at = 0; at < bytes.size(); at += kRelaSize) {
      uint64_t offset, info;
      int64_t addend;
      std::memcpy(&offset, &bytes[at], 8);
      std::memcpy(&info, &bytes[at + 8], 8);
      std::memcpy(&addend, &bytes[at + 16], 8);
      uint64_t sym = info >> 32;
      std::string name = sym == 0            ? ""
                         : sym < syms.size() ? syms[sym]->name()
                                             : "symbol " + std::to_string(sym);
      set.insert({static_cast<uint32_t>(info), offset, addend, name});
    }
    return set;
  }

  // The same relocations, by type, place, addend and symbol, as LIEF reads them; in a PIE with
  // the preinit hook, the table the loader applies holds them plus one R_X86_64_RELATIVE for
  // the DT_PREINIT_ARRAY slot, pointing at executable code in the netleash segment.
  void check_relocations() {
    Relocs in_dyn = lief_relocs(in_, false);
    compare("relocations (DT_RELA)", in_dyn, lief_relocs(out_, false));
    compare("relocations (DT_JMPREL)", lief_relocs(in_, true), lief_relocs(out_, true));
    bool hooked_pie = expect_.seal == "preinit" && out_.header().file_type() == E_TYPE::ET_DYN &&
                      value(out_, DYNAMIC_TAGS::DT_PREINIT_ARRAY);
    if (!hooked_pie) return;
    std::optional<Relocs> applied = effective_rela();
    if (!applied) return fail("the last DT_RELA/DT_RELASZ do not describe a readable table");
    // The copy leaves out .rela.plt where the original DT_RELASZ counted it (glibc skips it).
    std::optional<uint64_t> start = value(in_, DYNAMIC_TAGS::DT_RELA),
                            size = value(in_, DYNAMIC_TAGS::DT_RELASZ),
                            jmprel = value(in_, DYNAMIC_TAGS::DT_JMPREL);
    if (start && size && jmprel && *jmprel >= *start && *jmprel < *start + *size) {
      for (const Reloc& r : lief_relocs(in_, true)) {
        auto at = in_dyn.find(r);
        if (at != in_dyn.end()) in_dyn.erase(at);
      }
    }
    uint64_t slot = *value(out_, DYNAMIC_TAGS::DT_PREINIT_ARRAY);
    auto hook = std::find_if(applied->begin(), applied->end(), [&](const Reloc& r) {
      return r.type == kRelative && r.address == slot;
    });
    if (hook == applied->end())
      return fail("no R_X86_64_RELATIVE for the DT_PREINIT_ARRAY slot " + hex(slot));
    uint64_t target = static_cast<uint64_t>(hook->addend);
    if (!in_new_load(target, 1, true))
      fail("the DT_PREINIT_ARRAY slot's relocation points at " + hex(target) +
           ", not at executable code in the netleash segment");
    applied->erase(hook);
    compare("relocations the loader applies (last DT_RELA), besides the slot's", in_dyn, *applied);
  }

  const Expect& expect_;
  const Binary& in_;
  const Binary& out_;
  int failures_ = 0;
};

int usage() {
  std::fputs(
      "usage: lief-check --app ID --shim NAME --seal preinit|constructor ORIGINAL PATCHED\n"
      "       lief-check --removed ORIGINAL OUTPUT\n",
      stderr);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  Expect expect;
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::string* value = arg == "--app"    ? &expect.app
                         : arg == "--shim" ? &expect.shim
                         : arg == "--seal" ? &expect.seal
                                           : nullptr;
    if (value) {
      if (++i == argc) return usage();
      *value = argv[i];
    } else if (arg == "--removed") {
      expect.removed = true;
    } else if (arg.rfind("--", 0) == 0) {
      return usage();
    } else {
      files.push_back(arg);
    }
  }
  bool patched_args = !expect.app.empty() && !expect.shim.empty() &&
                      (expect.seal == "preinit" || expect.seal == "constructor");
  if (files.size() != 2 || expect.removed == patched_args) return usage();
  expect.original = files[0];
  expect.output = files[1];

  LIEF::Logger::disable();  // LIEF's warnings are not findings; the checks below say what is wrong
  std::unique_ptr<Binary> in, out;
  for (auto [path, binary] : {std::pair{&expect.original, &in}, std::pair{&expect.output, &out}}) {
    try {
      *binary = Parser::parse(*path);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "lief-check: %s: LIEF cannot parse it: %s\n", path->c_str(), e.what());
      return 1;
    }
    if (!*binary) {
      std::fprintf(stderr, "lief-check: %s: LIEF cannot parse it\n", path->c_str());
      return 1;
    }
  }
  return Checker(expect, *in, *out).run();
}
