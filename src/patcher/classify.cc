#include "patcher/classify.h"

#include <sys/stat.h>
#include <sys/xattr.h>

#include <cerrno>
#include <cstring>

namespace netleash::elf {

const char* linkage_name(Linkage linkage) {
  switch (linkage) {
    case Linkage::Dynamic: return "dynamic";
    case Linkage::Static: return "static";
    case Linkage::StaticPie: return "static-pie";
  }
  return "dynamic";
}

FileFacts file_facts(int fd) {
  struct stat st;
  if (fstat(fd, &st) != 0) throw ElfError(std::string("cannot stat: ") + std::strerror(errno));
  FileFacts facts;
  facts.setid = (st.st_mode & (S_ISUID | S_ISGID)) != 0;
  ssize_t n = fgetxattr(fd, "security.capability", nullptr, 0);
  facts.capabilities = n >= 0;
  if (n < 0 && errno != ENODATA && errno != ENOTSUP) {
    throw ElfError(std::string("cannot read xattrs: ") + std::strerror(errno));
  }
  return facts;
}

namespace {

bool has_phdr(const ElfFile& file, uint32_t type) {
  for (const Phdr& p : file.phdrs) {
    if (p.p_type == type) return true;
  }
  return false;
}

// Go's build info starts with this magic, 16-byte aligned (src/debug/buildinfo).
constexpr char kGoBuildInfoMagic[] = "\xff Go buildinf:";
constexpr uint64_t kGoSearchBytes = 64 * 1024;

bool bytes_have_go_magic(const std::vector<unsigned char>& bytes) {
  const size_t magic_len = sizeof(kGoBuildInfoMagic) - 1;
  for (size_t at = 0; at + magic_len <= bytes.size(); at += 16) {
    if (std::memcmp(bytes.data() + at, kGoBuildInfoMagic, magic_len) == 0) return true;
  }
  return false;
}

// Three independent signs, as Go's own debug/buildinfo and cmd/internal/buildid use:
// a .go.buildinfo (or .note.go.buildid) section, a note with owner "Go" and type 4 (the
// Go build id, found through PT_NOTE), or the build-info magic at the start of the first
// writable, non-executable PT_LOAD (where the Go linker puts .go.buildinfo; this catches
// binaries with their sections stripped).
bool looks_like_go(const ElfFile& file) {
  for (size_t i = 0; i < file.shdrs.size(); ++i) {
    std::string name = file.section_name(i);
    if (name == ".go.buildinfo" || name == ".note.go.buildid") return true;
  }
  bool go_note = false;
  for_each_note(file, [&](const Note& note) {
    go_note = note.owner == "Go" && note.type == 4;
    return !go_note;
  });
  if (go_note) return true;
  for (const Phdr& p : file.phdrs) {
    if (p.p_type != PT_LOAD || (p.p_flags & PF_W) == 0 || (p.p_flags & PF_X) != 0) continue;
    uint64_t length = std::min<uint64_t>(p.p_filesz, kGoSearchBytes);
    return bytes_have_go_magic(file.view->read(p.p_offset, length, "data segment"));
  }
  return false;
}

Linkage linkage_of(const ElfFile& file) {
  if (has_phdr(file, PT_INTERP)) return Linkage::Dynamic;
  if (file.ehdr.e_type == ET_DYN && file.dynamic_index) {
    std::optional<uint64_t> flags1 = file.dynamic_value(DT_FLAGS_1);
    if (flags1 && (*flags1 & DF_1_PIE) != 0) return Linkage::StaticPie;
    return Linkage::Dynamic;  // a shared library; refused below for lack of PT_INTERP
  }
  return Linkage::Static;
}

std::optional<std::string> structural_refusal(const ElfFile& file, Linkage linkage) {
  uint16_t type = file.ehdr.e_type;
  if (type != ET_EXEC && type != ET_DYN) {
    return "unsupported ELF type (only executables: ET_EXEC, or ET_DYN with PT_INTERP)";
  }
  if (linkage == Linkage::Static) return "statically linked executable (no dynamic loader runs)";
  if (linkage == Linkage::StaticPie) return "static-pie executable (no dynamic loader runs)";
  if (!has_phdr(file, PT_INTERP)) return "shared library, not an executable (no PT_INTERP)";
  if (!file.dynamic_index) return "no PT_DYNAMIC segment";
  if (!file.has_strtab) return "dynamic section has no DT_STRTAB";
  return std::nullopt;
}

}  // namespace

Classification classify(const ElfFile& file, const FileFacts& facts) {
  Classification c;
  c.linkage = linkage_of(file);
  c.go = looks_like_go(file);
  c.setuid = facts.setid || facts.capabilities;
  c.hard_reason = structural_refusal(file, c.linkage);
  if (!c.hard_reason && c.go) {
    c.hard_reason = "Go binary (its network code makes raw system calls)";
  }
  c.interposable = !c.hard_reason;
  c.reason = c.hard_reason;
  if (!c.reason && c.setuid) {
    c.reason = facts.capabilities ? "file has capabilities (use --allow-setuid to patch anyway)"
                                  : "setuid/setgid executable (use --allow-setuid to patch anyway)";
  }
  c.record = find_identity_note(file);
  if (c.record) {
    if (file.dynamic.empty() || file.dynamic[0].d_tag != DT_NEEDED) {
      throw ElfError("corrupt netleash patch: identity record without a leading DT_NEEDED");
    }
    c.shim = file.dynamic_string(file.dynamic[0].d_val);
  }
  return c;
}

}  // namespace netleash::elf
