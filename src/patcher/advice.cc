#include "patcher/advice.h"

#include <climits>
#include <cstdlib>

#include "patcher/output_file.h"

namespace netleash::elf {

namespace {

std::string canonical(const std::string& path) {
  char resolved[PATH_MAX];
  return realpath(path.c_str(), resolved) != nullptr ? resolved : path;
}

// The DT_RUNPATH (or, without one, DT_RPATH) string when it names $ORIGIN: the loader
// then finds libraries relative to the executable's own directory. (Called after the
// output is written, so a string out of range is no reason to refuse: no warning.)
std::optional<std::string> origin_search_path(const ElfFile& file) {
  for (int64_t tag : {DT_RUNPATH, DT_RPATH}) {
    std::optional<uint64_t> at = file.dynamic_value(tag);
    if (!at) continue;
    std::string path;
    try {
      path = file.dynamic_string(*at);
    } catch (const ElfError&) {
      continue;
    }
    if (path.find("$ORIGIN") != std::string::npos || path.find("${ORIGIN}") != std::string::npos) {
      return std::string(tag == DT_RUNPATH ? "RUNPATH" : "RPATH") + " \"" + path + "\"";
    }
  }
  return std::nullopt;
}

constexpr char kKeepLayout[] =
    "patch it in place (--in-place on the original, or on a copy of its whole directory "
    "tree), so it stays next to its files";

}  // namespace

std::optional<std::string> refusal_advice(const Classification& cls, const std::string& input) {
  bool unloadable = cls.linkage != Linkage::Dynamic || cls.go;
  if (!unloadable) return std::nullopt;
  // Supervised mode (BRIEF section 5) will patch these; until it exists, the one
  // confinement that holds without the shim is a network namespace of its own.
  return "no shim can interpose on it (supervised mode for static and Go programs does not "
         "exist yet); confine it in enforced mode instead: netleash-run -- " + input +
         " runs it with only a loopback of its own, so it has no network at all (netleash-run(1))";
}

std::optional<std::string> relocation_warning(const ElfFile& file, const std::string& input,
                                              const std::string& output) {
  std::string from = canonical(directory_of(canonical(input)));
  std::string to = canonical(directory_of(output));
  if (from == to) return std::nullopt;
  if (std::optional<std::string> origin = origin_search_path(file)) {
    return "warning: its " + *origin + " finds libraries relative to " + from + "; the copy in " +
           to + " looks for them there instead and may not start: " + kKeepLayout;
  }
  return "warning: the copy is in " + to + ", not in " + from + ": a program that finds files "
         "next to itself (java's libjli.so, a browser's resources, postgres' share directory) "
         "breaks when moved; if this one does, " + kKeepLayout;
}

std::string privilege_note(const FileFacts& facts) {
  std::string what = facts.setid && facts.capabilities ? "its setuid/setgid bit and file capabilities"
                     : facts.setid ? "its setuid/setgid bit"
                                   : "its file capabilities (security.capability; getcap shows them)";
  return "note: the patched file keeps " + what +
         " (--allow-setuid): whoever may run it gets those privileges with the shim loaded; "
         "in that secure-execution process the shim ignores NETLEASH_SOCKET and uses the "
         "default daemon socket, and the seal still refuses raw and packet sockets, so "
         "cap_net_raw gives it nothing while leashed; keep the copy where only intended users "
         "can run it";
}

}  // namespace netleash::elf
