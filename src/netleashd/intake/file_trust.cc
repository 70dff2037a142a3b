#include "netleashd/intake/file_trust.h"

#include <fcntl.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>

namespace netleash::netleashd {

namespace {

// lstat of the absolute `path` as the process sees it (see why_untrusted).
int lstat_under(int root, const std::string& path, struct stat* st) {
  if (root < 0) return lstat(path.c_str(), st);
  if (path == "/") return fstatat(root, "", st, AT_EMPTY_PATH);
  return fstatat(root, path.c_str() + 1, st, AT_SYMLINK_NOFOLLOW);
}

}  // namespace

FileTrust::FileTrust(std::vector<uid_t> owners) : owners_(std::move(owners)) {}

bool FileTrust::trusted_owner(uid_t uid) const {
  return uid == 0 || std::find(owners_.begin(), owners_.end(), uid) != owners_.end();
}

std::string FileTrust::why_untrusted_node(const char* what, const std::string& path,
                                          const struct stat& st) const {
  const std::string name = std::string(what) + " " + path;
  if (!trusted_owner(st.st_uid))
    return name + " is owned by uid " + std::to_string(st.st_uid) +
           ", not by root or a trusted owner";
  if (st.st_mode & S_IWOTH) return name + " is writable by others";
  if (st.st_mode & S_IWGRP) return name + " is writable by group";
  return {};
}

std::string FileTrust::why_untrusted(int root, const std::string& path, const struct stat& st,
                                     const char* what, std::set<std::string>* trusted_dirs) const {
  const std::string name = std::string(what) + " " + path;
  if (path.empty() || path.front() != '/') return name + " is not an absolute path";
  // The kernel reports a path as it was when the file was opened: a file
  // deleted, renamed or replaced since then cannot be located, nor its
  // directories checked.
  struct stat now{};
  if (lstat_under(root, path, &now) != 0 || now.st_dev != st.st_dev || now.st_ino != st.st_ino)
    return name + " is no longer at that path (deleted, moved or replaced since it was opened)";
  if (!S_ISREG(st.st_mode)) return name + " is not a regular file";
  if (std::string why = why_untrusted_node(what, path, st); !why.empty()) return why;
  // The directories from the file's up to "/": whoever may write one of them
  // could have put another file in its place.
  uid_t entry_owner = st.st_uid;  // of the entry below `dir` on the path
  std::string dir = path;
  std::vector<std::string> walked;  // trusted as ordinary directories
  while (dir != "/") {
    const size_t slash = dir.rfind('/');
    dir.resize(slash == 0 ? 1 : slash);
    if (trusted_dirs != nullptr && trusted_dirs->count(dir)) break;
    struct stat ds{};
    if (lstat_under(root, dir, &ds) != 0) return "directory " + dir + ": " + std::strerror(errno);
    if (!S_ISDIR(ds.st_mode)) return dir + " is not a directory";
    // In a sticky directory (like /tmp) only an entry's owner, the
    // directory's owner and root may rename or remove the entry: if all of
    // them are trusted, others writing there cannot touch this path.
    const bool sticky_guard =
        (ds.st_mode & S_ISVTX) && trusted_owner(ds.st_uid) && trusted_owner(entry_owner);
    if (!sticky_guard) {
      if (std::string why = why_untrusted_node("directory", dir, ds); !why.empty()) return why;
      walked.push_back(dir);
    }
    entry_owner = ds.st_uid;
  }
  // A directory trusted through a sticky guard depends on the entry below it,
  // so only ordinary ones are remembered.
  if (trusted_dirs != nullptr) trusted_dirs->insert(walked.begin(), walked.end());
  return {};
}

std::string FileTrust::why_library_untrusted(int root, dev_t device, ino_t inode,
                                             const std::string& path,
                                             std::set<std::string>* trusted_dirs) {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
  const uint64_t now_ms = static_cast<uint64_t>(now.tv_sec) * 1000 + now.tv_nsec / 1000000;
  Key key{device, inode, path};
  if (const auto it = remembered_.find(key); it != remembered_.end() && now_ms < it->second)
    return {};
  struct stat st{};
  if (lstat_under(root, path, &st) != 0 || st.st_dev != device || st.st_ino != inode)
    return "code mapped from " + path + ": that path no longer names the mapped file";
  std::string why = why_untrusted(root, path, st, "library", trusted_dirs);
  if (why.empty()) {
    if (remembered_.size() >= kMaxRemembered) remembered_.clear();
    remembered_[std::move(key)] = now_ms + kRememberMs;
  }
  return why;
}

}  // namespace netleash::netleashd
