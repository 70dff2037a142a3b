#include "netleashd/intake/exe_digest.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace netleash::netleashd {
namespace {

std::string hash_file(int fd, std::string* error) {
  crypto_hash_sha256_state state;
  crypto_hash_sha256_init(&state);
  unsigned char buffer[65536];
  for (;;) {
    const ssize_t n = read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      *error = std::strerror(errno);
      return {};
    }
    if (n == 0) break;
    crypto_hash_sha256_update(&state, buffer, static_cast<unsigned long long>(n));
  }
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_final(&state, digest);
  char hex[2 * sizeof digest + 1];
  sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
  return hex;
}

}  // namespace

std::string DigestCache::digest(const PeerIdentity& who, std::string* error) {
  if (const auto it = entries_.find(who.exe_version); it != entries_.end()) return it->second;
  const std::string exe_link = "/proc/" + std::to_string(who.pid) + "/exe";
  const int fd = open(exe_link.c_str(), O_RDONLY | O_CLOEXEC);
  struct stat st{};
  if (fd < 0 || fstat(fd, &st) != 0) {
    *error = exe_link + ": " + std::strerror(errno);
    if (fd >= 0) close(fd);
    return {};
  }
  std::string hex;
  if (version_of(st) != who.exe_version) {
    *error = "the process no longer runs the executable it was identified with";
  } else {
    hex = hash_file(fd, error);
    if (!hex.empty()) {
      if (entries_.size() >= kMaxEntries) entries_.clear();
      entries_.emplace(who.exe_version, hex);
    }
  }
  close(fd);
  return hex;
}

}  // namespace netleash::netleashd
