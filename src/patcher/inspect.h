// --inspect: what netleash-patch sees in a file, as text or one JSON object per file.
#pragma once

#include <optional>
#include <string>

namespace netleash::elf {

struct Report {
  std::string file;
  bool elf = false;  // the file could be read as a supported ELF file
  bool patched = false;
  std::optional<std::string> app;
  std::optional<std::string> shim;
  std::optional<std::string> linkage;
  bool go = false;
  bool setuid = false;
  bool interposable = false;
  std::optional<std::string> reason;
  // Where a patched program is sealed: "preinit" (the hook, before any library
  // constructor) or "constructor" (the shim's, after the constructors of libraries
  // loaded after it), with why not preinit. For an unpatched file: what patching gives.
  std::optional<std::string> seal;
  std::optional<std::string> seal_reason;
};

Report inspect_file(const std::string& path);
std::string format_report(const Report& report, bool json);

}  // namespace netleash::elf
