// What the daemon remembers of its process trees across a restart under
// systemd: the listeners stay in the service manager's file descriptor store
// (systemd_glue.h), and this file says whose they are and which processes
// proved membership. Written at a clean stop, read and removed at the next
// start; root-only, next to the socket. Without it a stored listener is
// useless (whose tree it is cannot be told) and is dropped.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "netleashd/intake/identity.h"

namespace netleash::netleashd {

struct SavedTree {
  std::string name;  // its FDNAME in the store
  TreeRoot root;
  uint64_t root_start_time = 0;
};

struct SavedMember {
  pid_t pid = 0;
  uint64_t start_time = 0;
  std::string tree;  // a SavedTree's name
};

struct TreeState {
  std::vector<SavedTree> trees;
  std::vector<SavedMember> members;
};

// Atomically (temporary file, rename), mode 0600.
bool write_tree_state(const std::string& path, const TreeState& state, std::string* error);
// Reads and removes the file. A missing file is an empty state; a damaged one
// is an error (and removed too: it would never get better).
bool take_tree_state(const std::string& path, TreeState* state, std::string* error);

}  // namespace netleash::netleashd
