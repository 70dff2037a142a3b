// Process trees: the app a process runs under comes from the first process
// of its tree, and the kernel says which tree a process is in.
//
// The first process of a patched program seals itself (src/shim/seal/) and
// installs a second seccomp filter whose user-notification listener it hands
// to the daemon (wire::Op::kJoinTree). That filter is inherited by every
// descendant, however started (fork, exec, a shell, a double fork), and no
// process can remove it or install another listener under it (EBUSY). Each
// process proves its membership once with prctl(kTreeOption): the kernel
// delivers that call, with the caller's pid, to the listener of the filter it
// is under, so the daemon learns pid -> tree from the kernel alone. A
// descendant that runs another patched program stays in its tree (its seal
// finds the process sealed and roots nothing): no confused deputy.
//
// A tree is kept only if its first probe comes from the process that offered
// it; it ends when its last process does (the listener hangs up). Under
// systemd a tree outlives a restart of the daemon: its listener waits in the
// file descriptor store, its owner and members in a state file (tree_state.h).
#pragma once

#include <sys/types.h>
#include <uv.h>

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "netleashd/intake/identity.h"

namespace netleash::netleashd {

struct Daemon;

class ProcessTrees final : public TreeMembership {
 public:
  static constexpr size_t kMaxTrees = 8192;
  static constexpr size_t kMaxMembers = 65536;

  explicit ProcessTrees(Daemon* daemon);
  ProcessTrees(const ProcessTrees&) = delete;
  ProcessTrees& operator=(const ProcessTrees&) = delete;

  // kJoinTree: `root` (identified by its own executable's record) offers the
  // listener `fd`, which is taken over (closed on refusal).
  void offer(const PeerIdentity& root, int fd);
  // TreeMembership: nullptr unless `pid`, still the same process, probed
  // into a live tree.
  const TreeRoot* root_of(pid_t pid) const override;
  // At start: the trees of the daemon before, from the file descriptor store
  // and the state file at `state_path`.
  void restore(const std::vector<std::pair<int, std::string>>& stored, const std::string& state_path);
  // At stop: saves what restore() needs (when there is a store), then closes
  // every listener. Without a store, processes in trees then get ENOSYS from
  // their probe, never a hang.
  void stop(const std::string& state_path);

  struct Tree;  // process_trees.cc

 private:
  friend struct TreeEvents;
  struct Member {
    uint64_t start_time;  // /proc/PID/stat field 22: tells a reused pid apart
    uint64_t tree;
  };
  // `forget`: the tree is over, so the store lets go of its listener too.
  void end(Tree* tree, bool forget);
  void watch(Tree* tree);
  bool admit_member(pid_t tgid, uint64_t start_time, Tree* tree);

  Daemon* daemon_;
  uint64_t next_id_ = 1;
  std::map<uint64_t, Tree*> trees_;
  std::unordered_map<pid_t, Member> members_;
};

}  // namespace netleash::netleashd
