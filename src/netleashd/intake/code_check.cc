#include "netleashd/intake/code_check.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <set>
#include <string_view>
#include <utility>

namespace netleash::netleashd {
namespace {

// The kernel marks a mapped file that is gone this way (also every memfd).
constexpr std::string_view kDeleted = " (deleted)";

struct Mapping {
  bool executable = false;
  dev_t device = 0;
  ino_t inode = 0;
  std::string_view path;  // empty: anonymous
};

// The next space-separated field of `line`, consumed.
std::string_view field(std::string_view* line) {
  const size_t start = line->find_first_not_of(' ');
  if (start == std::string_view::npos) return *line = {};
  const size_t end = line->find(' ', start);
  const std::string_view f = line->substr(start, end - start);
  *line = end == std::string_view::npos ? std::string_view{} : line->substr(end);
  return f;
}

bool parse_number(std::string_view text, int base, uint64_t* out) {
  if (text.empty() || text.size() > 16) return false;
  char digits[17];
  text.copy(digits, text.size());
  digits[text.size()] = '\0';
  char* end = nullptr;
  *out = std::strtoull(digits, &end, base);
  return *end == '\0';
}

// "start-end perms offset major:minor inode   path" (the path may hold spaces).
bool parse_line(std::string_view line, Mapping* m) {
  field(&line);  // range
  const std::string_view perms = field(&line);
  field(&line);  // offset
  const std::string_view device = field(&line);
  const std::string_view inode = field(&line);
  const size_t colon = device.find(':');
  uint64_t major = 0, minor = 0, number = 0;
  if (perms.size() != 4 || colon == std::string_view::npos ||
      !parse_number(device.substr(0, colon), 16, &major) ||
      !parse_number(device.substr(colon + 1), 16, &minor) || !parse_number(inode, 10, &number))
    return false;
  m->executable = perms[2] == 'x';
  m->device = makedev(static_cast<unsigned>(major), static_cast<unsigned>(minor));
  m->inode = static_cast<ino_t>(number);
  const size_t path_at = line.find_first_not_of(' ');
  m->path = path_at == std::string_view::npos ? std::string_view{} : line.substr(path_at);
  return true;
}

// What both readers of the map share: each file is judged once per scan, and
// directories found trusted are not looked at again.
class Scan {
 public:
  Scan(int root, FileTrust& trust) : root_(root), trust_(trust) {}

  // `m` is an executable mapping with a file (inode != 0).
  std::string why_untrusted(const Mapping& m) {
    if (!checked_.insert({m.device, m.inode}).second) return {};
    const std::string path(m.path);
    if (path.empty() || path.front() != '/')
      return "code mapped from \"" + path + "\", which is not a file";
    if (path.size() > kDeleted.size() && path.ends_with(kDeleted))
      return "code mapped from " + path + ": the file no longer exists (a memfd or a deleted file)";
    return trust_.why_library_untrusted(root_, m.device, m.inode, path, &trusted_dirs_);
  }

 private:
  int root_;
  FileTrust& trust_;
  std::set<std::pair<dev_t, ino_t>> checked_;
  std::set<std::string> trusted_dirs_;
};

std::string read_all(int fd, const std::string& path, std::string* error) {
  std::string text;
  char buffer[16384];
  for (;;) {
    const ssize_t n = read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) *error = path + ": " + std::strerror(errno);
    if (n <= 0) break;
    text.append(buffer, static_cast<size_t>(n));
  }
  return text;
}

// PROCMAP_QUERY (Linux 6.11, <linux/fs.h>; Debian 12's headers predate it):
// asks the kernel for the next executable file-backed mapping only, instead
// of having it format every mapping of the process as text. For a python3
// with many modules that is about 30 answers instead of 190 lines.
struct ProcmapQuery {
  uint64_t size;
  uint64_t query_flags;
  uint64_t query_addr;
  uint64_t vma_start;
  uint64_t vma_end;
  uint64_t vma_flags;
  uint64_t vma_page_size;
  uint64_t vma_offset;
  uint64_t inode;
  uint32_t dev_major;
  uint32_t dev_minor;
  uint32_t vma_name_size;
  uint32_t build_id_size;
  uint64_t vma_name_addr;
  uint64_t build_id_addr;
};
constexpr unsigned long kProcmapQuery = _IOWR('f', 17, ProcmapQuery);
constexpr uint64_t kQueryExecutable = 0x04;
constexpr uint64_t kQueryCoveringOrNext = 0x10;
constexpr uint64_t kQueryFileBacked = 0x20;

enum class QueryResult { kDone, kUnsupported };

QueryResult query_mappings(int fd, int root, FileTrust& trust, std::string* why) {
  Scan scan(root, trust);
  char name[PATH_MAX + 32];
  for (uint64_t address = 0;;) {
    ProcmapQuery q{};
    q.size = sizeof q;
    q.query_flags = kQueryCoveringOrNext | kQueryExecutable | kQueryFileBacked;
    q.query_addr = address;
    q.vma_name_size = sizeof name;
    q.vma_name_addr = reinterpret_cast<uintptr_t>(name);
    if (ioctl(fd, kProcmapQuery, &q) != 0) {
      if (errno == ENOENT) return QueryResult::kDone;  // no mapping above `address`
      if (address == 0 && (errno == ENOTTY || errno == EINVAL)) return QueryResult::kUnsupported;
      *why = std::string("cannot query the process's memory map: ") + std::strerror(errno);
      return QueryResult::kDone;
    }
    address = q.vma_end;
    Mapping m;
    m.executable = true;
    m.device = makedev(q.dev_major, q.dev_minor);
    m.inode = static_cast<ino_t>(q.inode);
    m.path = q.vma_name_size > 0 ? std::string_view(name, q.vma_name_size - 1) : std::string_view{};
    *why = scan.why_untrusted(m);
    if (!why->empty()) return QueryResult::kDone;
  }
}

}  // namespace

std::string why_maps_untrusted(const std::string& maps, int root, FileTrust& trust) {
  Scan scan(root, trust);
  std::string_view rest = maps;
  while (!rest.empty()) {
    const size_t end = rest.find('\n');
    const std::string_view line = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end + 1);
    Mapping m;
    if (!parse_line(line, &m)) return "unreadable line in the process's memory map";
    // [vdso] and anonymous memory carry no file (inode 0).
    if (!m.executable || m.inode == 0) continue;
    if (std::string why = scan.why_untrusted(m); !why.empty()) return why;
  }
  return {};
}

std::string why_code_untrusted(pid_t pid, int root, FileTrust& trust) {
  const std::string path = "/proc/" + std::to_string(pid) + "/maps";
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return path + ": " + std::strerror(errno);
  std::string why;
  if (query_mappings(fd, root, trust, &why) == QueryResult::kUnsupported) {
    const std::string maps = read_all(fd, path, &why);
    if (why.empty()) why = maps.empty() ? "process has no memory map (exited?)"
                                        : why_maps_untrusted(maps, root, trust);
  }
  close(fd);
  return why;
}

}  // namespace netleash::netleashd
