// Who is on the other end of an accepted Unix socket, from the kernel's point
// of view: SO_PEERCRED (+ SO_PEERPIDFD) -> /proc/PID/exe -> identity record.
// Nothing the client sends is ever consulted.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstddef>
#include <map>
#include <string>
#include <tuple>

namespace netleash::proxyd {

struct PeerIdentity {
  pid_t pid = 0;
  uid_t uid = 0;
  std::string app;      // empty: no usable identity (see `failure`)
  std::string failure;  // why `app` is empty, for the audit line
};

// Reads the application id from an open executable; the daemon uses the
// patcher's netleash::elf::read_app_id, the tests a fake.
using AppIdReader = bool (*)(int fd, std::string* app, std::string* error);

// Caches app ids per executable file, keyed by (device, inode, mtime, ctime,
// size): a rewritten or replaced binary gets a fresh lookup, an unchanged one
// costs one stat.
class IdentityCache {
 public:
  static constexpr size_t kMaxEntries = 4096;

  explicit IdentityCache(AppIdReader reader) : reader_(reader) {}

  // Fills app (or failure) from the cache for a file with status `st`; false
  // if that file has not been read yet.
  bool find(const struct stat& st, std::string* app, std::string* failure) const;
  // Fills app (or failure) for the executable open at `fd` with status `st`,
  // reading it unless it is cached.
  void lookup(int fd, const struct stat& st, std::string* app, std::string* failure);
  size_t size() const { return entries_.size(); }

 private:
  using Key = std::tuple<dev_t, ino_t, long, long, long, long, off_t>;
  static Key key_of(const struct stat& st);
  struct Entry {
    std::string app;
    std::string failure;
  };
  AppIdReader reader_;
  std::map<Key, Entry> entries_;
};

// Identifies the peer of the connected Unix socket `fd`.
PeerIdentity identify_peer(int fd, IdentityCache* cache);

}  // namespace netleash::proxyd
