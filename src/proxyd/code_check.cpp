#include "code_check.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <set>
#include <string_view>
#include <utility>

namespace netleash::proxyd {
namespace {

// The kernel marks a mapped file that is gone this way (also every memfd).
constexpr std::string_view kDeleted = " (deleted)";

struct Mapping {
  bool executable = false;
  dev_t device = 0;
  ino_t inode = 0;
  std::string_view path;  // empty: anonymous
};

// "start-end perms offset major:minor inode   path"
bool parse_line(std::string_view line, Mapping* m) {
  unsigned major = 0, minor = 0;
  uint64_t inode = 0;
  char perms[5] = {};
  int path_at = 0;
  const std::string text(line);
  if (std::sscanf(text.c_str(), "%*x-%*x %4s %*x %x:%x %" SCNu64 " %n",
                  perms, &major, &minor, &inode, &path_at) < 4)
    return false;
  m->executable = perms[2] == 'x';
  m->device = makedev(major, minor);
  m->inode = static_cast<ino_t>(inode);
  m->path = path_at > 0 ? line.substr(static_cast<size_t>(path_at)) : std::string_view{};
  return true;
}

std::string why_mapping_untrusted(const Mapping& m, const FileTrust& trust,
                                  std::set<std::string>* trusted_dirs) {
  const std::string path(m.path);
  if (path.size() > kDeleted.size() && path.ends_with(kDeleted))
    return "code mapped from " + path + ": the file no longer exists (a memfd or a deleted file)";
  struct stat st{};
  if (stat(path.c_str(), &st) != 0 || st.st_dev != m.device || st.st_ino != m.inode)
    return "code mapped from " + path + ": that path no longer names the mapped file";
  return trust.why_untrusted(path, st, "library", trusted_dirs);
}

std::string read_all(const std::string& path, std::string* error) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *error = path + ": " + std::strerror(errno);
    return {};
  }
  std::string text;
  char buffer[16384];
  for (;;) {
    const ssize_t n = read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) *error = path + ": " + std::strerror(errno);
    if (n <= 0) break;
    text.append(buffer, static_cast<size_t>(n));
  }
  close(fd);
  return text;
}

}  // namespace

std::string why_maps_untrusted(const std::string& maps, const FileTrust& trust) {
  std::set<std::pair<dev_t, ino_t>> checked;
  std::set<std::string> trusted_dirs;
  std::string_view rest = maps;
  while (!rest.empty()) {
    const size_t end = rest.find('\n');
    const std::string_view line = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end + 1);
    Mapping m;
    if (!parse_line(line, &m)) return "unreadable line in the process's memory map";
    // [vdso] and anonymous memory carry no file (inode 0).
    if (!m.executable || m.inode == 0) continue;
    if (m.path.empty() || m.path.front() != '/')
      return "code mapped from \"" + std::string(m.path) + "\", which is not a file";
    if (!checked.insert({m.device, m.inode}).second) continue;
    if (std::string why = why_mapping_untrusted(m, trust, &trusted_dirs); !why.empty()) return why;
  }
  return {};
}

std::string why_code_untrusted(pid_t pid, const FileTrust& trust) {
  std::string error;
  const std::string maps = read_all("/proc/" + std::to_string(pid) + "/maps", &error);
  if (!error.empty()) return error;
  if (maps.empty()) return "process has no memory map (exited?)";
  return why_maps_untrusted(maps, trust);
}

}  // namespace netleash::proxyd
