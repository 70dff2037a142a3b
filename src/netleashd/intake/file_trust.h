// Does the operator control a file? Principle 3 of the brief: an identity
// record, and code a trusted process runs, count only in files that nobody
// but root and the configured trusted owners can have written.
//
// The rule: the file is owned by root or a trusted owner and is writable by
// neither group nor other, and so is every directory above it — except that a
// root-owned directory with the sticky bit (like /tmp) does not disqualify a
// root-owned file in it, since nobody else may rename or remove that file.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

namespace netleash::netleashd {

class FileTrust {
 public:
  // Root is always trusted; `owners` adds the daemon config's trusted_owners.
  explicit FileTrust(std::vector<uid_t> owners = {});

  // Empty when the operator controls the file at `path` (an absolute, canonical
  // path, as the kernel reports it in /proc) whose status is `st` (from the
  // kernel's link or an fd: the file the process really runs); else why not,
  // naming the file or directory at fault, `what` ("executable", "library")
  // saying which file it is. `path` must still name that very file. Costs one
  // lstat for the file and one per directory above it, except directories in
  // `trusted_dirs` (found trusted, with their ancestors, earlier in the same
  // scan; the walk adds to it when given). Paths are looked up under `root`
  // (an O_PATH fd of /proc/PID/root: the process's own view, which differs
  // from the daemon's under ProtectHome= or in a container), or from the
  // daemon's "/" when `root` is -1.
  std::string why_untrusted(int root, const std::string& path, const struct stat& st,
                            const char* what = "executable",
                            std::set<std::string>* trusted_dirs = nullptr) const;

  // Whether a mapped library (device, inode, path as the kernel reports the
  // mapping) is trusted, remembering a trusted verdict for kRememberMs: a
  // process maps dozens of files and every connection is checked, and a stat
  // of each costs more than the rest of the check. Only root or a trusted
  // owner can change a trusted file or the directories above it, so what is
  // remembered goes stale only by the operator's own hand (a chmod, a chown),
  // and only for that long; forget() (on SIGHUP) ends it at once.
  std::string why_library_untrusted(int root, dev_t device, ino_t inode, const std::string& path,
                                    std::set<std::string>* trusted_dirs);
  void forget() { remembered_.clear(); }

  bool trusted_owner(uid_t uid) const;

 private:
  using Key = std::tuple<dev_t, ino_t, std::string>;
  static constexpr size_t kMaxRemembered = 4096;
  static constexpr uint64_t kRememberMs = 1000;
  std::map<Key, uint64_t> remembered_;  // -> until (CLOCK_MONOTONIC_COARSE, ms)
  std::string why_untrusted_node(const char* what, const std::string& path,
                                 const struct stat& st) const;
  std::vector<uid_t> owners_;
};

}  // namespace netleash::netleashd
