// SHA-256 of the executable a process runs, for policies that pin "sha256".
// Cached per file version (device, inode, size, mtime, ctime): a big binary
// is hashed once, not per connection.
#pragma once

#include <cstddef>
#include <map>
#include <string>

#include "netleashd/intake/identity.h"

namespace netleash::netleashd {

class DigestCache {
 public:
  static constexpr size_t kMaxEntries = 1024;

  // The lowercase hex digest of `who`'s executable, or empty with *error. The
  // file is read through /proc/PID/exe and must still be the version the
  // process was identified with (so a reused pid cannot lend its file).
  std::string digest(const PeerIdentity& who, std::string* error);

 private:
  std::map<FileVersion, std::string> entries_;
};

}  // namespace netleash::netleashd
