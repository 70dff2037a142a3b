// The code, not just the file: a process of a trusted executable may still run
// code from files the operator does not control (LD_PRELOAD, LD_AUDIT,
// LD_LIBRARY_PATH, a dlopen of a user's library, a memfd, a deleted file).
// Every file-backed executable mapping in /proc/PID/maps must pass the same
// rule as the executable (file_trust.h).
#pragma once

#include <sys/types.h>

#include <string>

#include "netleashd/intake/file_trust.h"

namespace netleash::netleashd {

// Empty when every file the process `pid` has mapped executable is trusted;
// else why not, naming the first file at fault. Costs one PROCMAP_QUERY per
// executable mapping (or, before Linux 6.11, reading the whole map), plus a
// stat per file not found trusted within the last second (FileTrust). Anonymous executable memory
// (a JIT's) is the process's own doing and is not judged here.
// Files are looked up under `root` (FileTrust::why_untrusted).
std::string why_code_untrusted(pid_t pid, int root, FileTrust& trust);

// The same for the text of a maps file (before Linux 6.11, and for the tests).
std::string why_maps_untrusted(const std::string& maps, int root, FileTrust& trust);

}  // namespace netleash::netleashd
