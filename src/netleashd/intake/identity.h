// Who is on the other end of an accepted Unix socket, from the kernel's point
// of view: SO_PEERCRED (+ SO_PEERPIDFD) -> /proc/PID/exe, which must be a file
// the operator controls (file_trust.h), in a process that runs no code from
// other files (code_check.h); its app is that of the process tree it proved
// it is in (process_trees.h), whose first process carried the identity record.
// The process that sent the Request is checked too (check_sender). Nothing
// the client sends is ever consulted. Races and what they leave open:
// docs/identity.md.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstddef>
#include <map>
#include <string>
#include <tuple>

#include "netleashd/intake/file_trust.h"
#include "netleashd/policy/policy.h"

namespace netleash::netleashd {

// One version of a file: a rewritten or replaced file gets another key.
using FileVersion = std::tuple<dev_t, ino_t, long, long, long, long, off_t>;
FileVersion version_of(const struct stat& st);

// The first process of a tree, as it was when it offered its tree
// (process_trees.h): the app of its identity record, and what the policy's
// "binary" and "sha256" pins are checked against for the whole tree.
struct TreeRoot {
  std::string app;
  pid_t pid = 0;
  uid_t uid = 0;  // its effective uid when it offered the tree
  std::string exe;
  std::string sha256;  // empty unless the app's policy pinned a digest then
};

// Which tree a process proved it is in (process_trees.h), if any.
class TreeMembership {
 public:
  virtual const TreeRoot* root_of(pid_t pid) const = 0;

 protected:
  ~TreeMembership() = default;
};

struct PeerIdentity {
  pid_t pid = 0;
  uid_t uid = 0;        // effective uid at connect() (SO_PEERCRED)
  std::string app;      // the app it is decided under (its tree's); empty: none (see `failure`)
  std::string failure;  // why `app` is empty, for the audit line
  policy::Runner runner;  // exe path and credentials, for the audit and the "users"/"groups" pins
  FileVersion exe_version{};  // of the executable, for its digest
  std::string record_app;  // its own executable's honoured identity record; empty: none
  TreeRoot tree;            // valid when `app` is set
  // The process is not its tree's first: it runs under an app it inherited.
  bool inherited() const { return !app.empty() && tree.pid != pid; }
};

// Reads the application id from an open executable; the daemon uses the
// shared reader's netleash::elf::read_app_id (src/common/elf), the tests a fake.
using AppIdReader = bool (*)(int fd, std::string* app, std::string* error);

// Caches app ids per executable file version: an unchanged one costs one stat.
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
  struct Entry {
    std::string app;
    std::string failure;
  };
  AppIdReader reader_;
  std::map<FileVersion, Entry> entries_;
};

// Identifies the peer of the connected Unix socket `fd`: its executable and
// code must pass the trust rule, and it gets the app of the tree it is in.
PeerIdentity identify_peer(int fd, IdentityCache* cache, FileTrust& trust,
                           const TreeMembership& trees);

// The Request on `who`'s connection was sent by process `sender` (its
// SCM_CREDENTIALS; 0 when the kernel attached none). A request counts only
// when its sender would get the same identity as the connecting process: a
// child that kept the socket while its parent exec'd a trusted program gains
// nothing. Otherwise `who` loses its app, with the reason.
void check_sender(pid_t sender, FileTrust& trust, IdentityCache* cache, const TreeMembership& trees,
                  PeerIdentity* who);

}  // namespace netleash::netleashd
