// The classify pass: what kind of executable this is and whether netleash can patch it.
//
// A DT_NEEDED shim only intercepts calls that go through the dynamic loader's symbol
// lookup, so static and static-pie executables (no PT_INTERP: nothing reads DT_NEEDED)
// and Go binaries (whose net package issues raw system calls) are refused. Set-id and
// file-capability binaries are refused unless explicitly allowed: a DT_NEEDED entry is
// honoured even in secure-execution mode (glibc rtld.c), which is exactly why adding one
// is a privilege decision for the operator.
#pragma once

#include <optional>
#include <string>

#include "common/elf/elf_file.h"
#include "common/elf/notes.h"

namespace netleash::elf {

enum class Linkage { Dynamic, Static, StaticPie };
const char* linkage_name(Linkage linkage);

// File-system facts the classification needs (from fstat and fgetxattr).
struct FileFacts {
  bool setid = false;         // S_ISUID or S_ISGID
  bool capabilities = false;  // has a security.capability xattr
};
FileFacts file_facts(int fd);  // throws ElfError on I/O failure

struct Classification {
  Linkage linkage = Linkage::Dynamic;
  bool go = false;
  bool setuid = false;  // set-id bits or file capabilities
  bool interposable = false;
  // Why the file cannot be patched (with the default options), or nullopt.
  std::optional<std::string> reason;
  // The reason that even --allow-setuid does not lift.
  std::optional<std::string> hard_reason;
  // Present when the file carries a netleash identity record.
  std::optional<IdentityNote> record;
  std::optional<std::string> shim;  // DT_NEEDED[0] of a patched file
};

Classification classify(const ElfFile& file, const FileFacts& facts);

}  // namespace netleash::elf
