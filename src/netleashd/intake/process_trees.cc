#include "netleashd/intake/process_trees.h"

#include <fcntl.h>
#include <linux/kcmp.h>
#include <linux/seccomp.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "netleashd/daemon.h"
#include "shim/seal/filter.h"
#include "netleashd/systemd_glue.h"
#include "netleashd/intake/tree_state.h"

namespace netleash::netleashd {

struct ProcessTrees::Tree {
  ProcessTrees* owner = nullptr;
  uint64_t id = 0;
  std::string name;  // FDNAME in the service manager's store
  TreeRoot root;
  uint64_t root_start_time = 0;
  int fd = -1;
  bool confirmed = false;  // the root's own probe reached this listener
  uint64_t offered_ms = 0;
  uv_poll_t poll{};
};

namespace {

// Reads up to `size - 1` bytes of a /proc file, NUL-terminated.
bool read_proc(const std::string& path, char* buffer, size_t size) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const ssize_t n = read(fd, buffer, size - 1);
  close(fd);
  if (n <= 0) return false;
  buffer[n] = '\0';
  return true;
}

// Field 22 of /proc/PID/stat, the start time in clock ticks since boot: a pid
// reused by another process has another one.
bool start_time_of(pid_t pid, uint64_t* start_time) {
  char stat[1024];
  if (!read_proc("/proc/" + std::to_string(pid) + "/stat", stat, sizeof stat)) return false;
  // The command name (field 2) may hold spaces and parentheses: skip to its end.
  const char* cursor = std::strrchr(stat, ')');
  if (cursor == nullptr) return false;
  for (int field = 2; field < 22; ++field) {
    cursor = std::strchr(cursor + 1, ' ');
    if (cursor == nullptr) return false;
  }
  *start_time = std::strtoull(cursor + 1, nullptr, 10);
  return true;
}

// The process a thread belongs to: a probe may come from any thread.
pid_t process_of(pid_t tid) {
  char status[4096];
  if (!read_proc("/proc/" + std::to_string(tid) + "/status", status, sizeof status)) return -1;
  const char* line = std::strstr(status, "\nTgid:");
  return line == nullptr ? -1 : static_cast<pid_t>(std::strtol(line + 6, nullptr, 10));
}

bool same_file(int a, int b) {
  const pid_t self = getpid();
  return syscall(SYS_kcmp, self, self, KCMP_FILE, a, b) == 0;
}

bool is_seccomp_listener(int fd) {
  char target[64];
  const std::string link = "/proc/self/fd/" + std::to_string(fd);
  const ssize_t n = readlink(link.c_str(), target, sizeof target - 1);
  if (n <= 0) return false;
  target[n] = '\0';
  return std::strcmp(target, "anon_inode:seccomp notify") == 0;
}

// Buffers as big as the running kernel's structures (they may grow).
struct NotifBuffers {
  std::vector<char> notif;
  std::vector<char> response;
  NotifBuffers() {
    seccomp_notif_sizes sizes{};
    if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) != 0) sizes = {};
    notif.resize(std::max<size_t>(sizes.seccomp_notif, sizeof(seccomp_notif)));
    response.resize(std::max<size_t>(sizes.seccomp_notif_resp, sizeof(seccomp_notif_resp)));
  }
};

}  // namespace

// The loop's callback, a friend so that it can reach the private parts.
struct TreeEvents {
  static void on_event(uv_poll_t* poll, int status, int events) {
    auto* tree = static_cast<ProcessTrees::Tree*>(poll->data);
    ProcessTrees* trees = tree->owner;
    if (status < 0 || (events & UV_DISCONNECT) != 0) return trees->end(tree, true);
    static NotifBuffers buffers;
    std::fill(buffers.notif.begin(), buffers.notif.end(), 0);
    auto* notif = reinterpret_cast<seccomp_notif*>(buffers.notif.data());
    if (ioctl(tree->fd, SECCOMP_IOCTL_NOTIF_RECV, notif) != 0) {
      // ENOENT: the caller was killed before we got to it. Anything else: the
      // tree is of no use any more.
      if (errno != ENOENT && errno != EINTR) trees->end(tree, true);
      return;
    }
    int error = EPERM;
    // The filter sends nothing else, but the listener is the judge of that.
    if (notif->data.nr == __NR_prctl && static_cast<long>(notif->data.args[0]) == seal::kTreeOption) {
      const pid_t process = process_of(static_cast<pid_t>(notif->pid));
      uint64_t start_time = 0;
      // ID_VALID after reading /proc: the caller was still blocked in the
      // probe, so `process` was still it.
      if (process > 0 && start_time_of(process, &start_time) &&
          ioctl(tree->fd, SECCOMP_IOCTL_NOTIF_ID_VALID, &notif->id) == 0) {
        if (!tree->confirmed && process == tree->root.pid && start_time == tree->root_start_time) {
          tree->confirmed = true;
          systemd::store_fd(tree->fd, tree->name);
        }
        if (tree->confirmed && trees->admit_member(process, start_time, tree)) error = 0;
      }
    }
    auto* response = reinterpret_cast<seccomp_notif_resp*>(buffers.response.data());
    std::fill(buffers.response.begin(), buffers.response.end(), 0);
    response->id = notif->id;
    response->error = -error;  // 0: the probe returns 0
    (void)ioctl(tree->fd, SECCOMP_IOCTL_NOTIF_SEND, response);  // ENOENT: the caller is gone
  }
};

ProcessTrees::ProcessTrees(Daemon* daemon) : daemon_(daemon) {}

void ProcessTrees::offer(const PeerIdentity& root, int fd) {
  const auto refuse = [&](const char* why) {
    log_message("pid %d: process tree refused: %s", static_cast<int>(root.pid), why);
    close(fd);
  };
  if (root.record_app.empty()) return refuse(root.failure.c_str());
  if (!is_seccomp_listener(fd)) return refuse("the descriptor is not a seccomp listener");
  // A process already in a tree cannot root another (its seal rooted
  // nothing), and a listener the daemon holds already cannot be offered as
  // another app's tree, whoever passed it to the offering process.
  if (root_of(root.pid) != nullptr) return refuse("the process is in a tree already");
  for (const auto& [id, tree] : trees_)
    if (same_file(fd, tree->fd)) return refuse("the listener roots a tree already");
  const uint64_t now = uv_now(daemon_->loop);
  const auto rooted_by_user = [&] {
    return static_cast<size_t>(std::count_if(trees_.begin(), trees_.end(),
                                             [&](const auto& entry) { return entry.second->root.uid == root.uid; }));
  };
  if (trees_.size() >= kMaxTrees || rooted_by_user() >= daemon_->config.max_trees_per_user) {
    // Offers whose root never probed them (it was in a tree already) go first.
    std::vector<Tree*> stale;
    for (auto& [id, tree] : trees_)
      if (!tree->confirmed && now - tree->offered_ms >= daemon_->config.request_timeout_ms)
        stale.push_back(tree);
    for (Tree* tree : stale) end(tree, false);
    if (trees_.size() >= kMaxTrees) return refuse("too many process trees");
    if (rooted_by_user() >= daemon_->config.max_trees_per_user)
      return refuse(("uid " + std::to_string(root.uid) + " roots max_trees_per_user trees already").c_str());
  }
  auto* tree = new Tree;
  tree->owner = this;
  tree->id = next_id_++;
  tree->name = systemd::kStoredPrefix + std::to_string(tree->id);
  tree->fd = fd;
  tree->offered_ms = now;
  tree->root.app = root.record_app;
  tree->root.pid = root.pid;
  tree->root.uid = root.uid;
  tree->root.exe = root.runner.exe;
  if (!start_time_of(root.pid, &tree->root_start_time)) {
    delete tree;
    return refuse("the process exited");
  }
  // The whole tree is held to the root's executable for "sha256" pins.
  const policy::AppPolicy* policy = daemon_->policies->find(root.record_app);
  if (policy != nullptr && !policy->pins.sha256.empty()) {
    std::string error;
    tree->root.sha256 = daemon_->digests.digest(root, &error);
  }
  watch(tree);
}

void ProcessTrees::watch(Tree* tree) {
  uv_poll_init(daemon_->loop, &tree->poll, tree->fd);
  tree->poll.data = tree;
  uv_poll_start(&tree->poll, UV_READABLE | UV_DISCONNECT, TreeEvents::on_event);
  trees_.emplace(tree->id, tree);
}

void ProcessTrees::restore(const std::vector<std::pair<int, std::string>>& stored,
                           const std::string& state_path) {
  TreeState state;
  std::string error;
  if (!take_tree_state(state_path, &state, &error)) log_message("process trees not restored: %s", error.c_str());
  std::map<std::string, uint64_t> ids;
  for (const auto& entry : stored) {
    const int fd = entry.first;
    const std::string& name = entry.second;  // a plain name: clang 14 cannot capture a binding
    const auto saved = std::find_if(state.trees.begin(), state.trees.end(),
                                    [&](const SavedTree& t) { return t.name == name; });
    if (saved == state.trees.end() || !is_seccomp_listener(fd)) {
      // Whose tree it was cannot be told: let it go.
      systemd::unstore_fd(name);
      close(fd);
      continue;
    }
    auto* tree = new Tree;
    tree->owner = this;
    tree->id = std::strtoull(name.c_str() + sizeof systemd::kStoredPrefix - 1, nullptr, 10);
    tree->name = name;
    tree->root = saved->root;
    tree->root_start_time = saved->root_start_time;
    tree->fd = fd;
    tree->confirmed = true;
    tree->offered_ms = uv_now(daemon_->loop);
    next_id_ = std::max(next_id_, tree->id + 1);
    ids[name] = tree->id;
    watch(tree);
  }
  for (const SavedMember& m : state.members) {
    const auto id = ids.find(m.tree);
    if (id != ids.end() && members_.size() < kMaxMembers) members_[m.pid] = Member{m.start_time, id->second};
  }
  if (!trees_.empty()) log_message("restored %zu process trees, %zu members", trees_.size(), members_.size());
}

bool ProcessTrees::admit_member(pid_t process, uint64_t start_time, Tree* tree) {
  if (members_.size() >= kMaxMembers && members_.find(process) == members_.end()) {
    // Members of ended trees first, then processes that have exited.
    std::erase_if(members_, [&](const auto& entry) { return trees_.count(entry.second.tree) == 0; });
    if (members_.size() >= kMaxMembers) {
      std::erase_if(members_, [](const auto& entry) {
        uint64_t now_started = 0;
        return !start_time_of(entry.first, &now_started) || now_started != entry.second.start_time;
      });
    }
    if (members_.size() >= kMaxMembers) return false;
  }
  members_[process] = Member{start_time, tree->id};
  return true;
}

const TreeRoot* ProcessTrees::root_of(pid_t pid) const {
  const auto member = members_.find(pid);
  if (member == members_.end()) return nullptr;
  const auto tree = trees_.find(member->second.tree);
  if (tree == trees_.end()) return nullptr;
  uint64_t start_time = 0;
  if (!start_time_of(pid, &start_time) || start_time != member->second.start_time) return nullptr;
  return &tree->second->root;
}

void ProcessTrees::end(Tree* tree, bool forget) {
  if (forget && tree->confirmed) systemd::unstore_fd(tree->name);
  trees_.erase(tree->id);
  uv_poll_stop(&tree->poll);
  uv_close(reinterpret_cast<uv_handle_t*>(&tree->poll), [](uv_handle_t* handle) {
    auto* ended = static_cast<Tree*>(handle->data);
    close(ended->fd);
    delete ended;
  });
}

void ProcessTrees::stop(const std::string& state_path) {
  if (systemd::fd_store_available() && !trees_.empty()) {
    TreeState state;
    for (const auto& [id, tree] : trees_)
      if (tree->confirmed) state.trees.push_back(SavedTree{tree->name, tree->root, tree->root_start_time});
    for (const auto& [pid, member] : members_) {
      const auto tree = trees_.find(member.tree);
      if (tree != trees_.end() && tree->second->confirmed)
        state.members.push_back(SavedMember{pid, member.start_time, tree->second->name});
    }
    std::string error;
    if (!write_tree_state(state_path, state, &error))
      log_message("process trees will not survive this restart: %s", error.c_str());
  }
  while (!trees_.empty()) end(trees_.begin()->second, false);
  members_.clear();
}

}  // namespace netleash::netleashd
