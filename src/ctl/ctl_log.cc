// netleashctl log: the audit log, filtered, one readable line per record (or
// the JSON lines as written), optionally following the file as it grows.
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ctl/audit_records.h"
#include "ctl/ctl_commands.h"
#include "ctl/ctl_socket.h"

namespace netleash::ctl {
namespace {

using nlohmann::json;

// How often --follow looks for new lines and for a rotated file.
constexpr long kFollowIntervalNs = 200'000'000;

volatile sig_atomic_t g_interrupted = 0;
void on_interrupt(int) { g_interrupted = 1; }

struct LogOptions {
  RecordFilter filter;
  bool follow = false;
  bool as_json = false;
  bool colour = false;
  std::string file;
};

std::string field(const json& record, const char* key) {
  const json value = record.value(key, json(nullptr));
  return value.is_string() ? value.get<std::string>() : value.is_null() ? "" : value.dump();
}

// time app op destination verdict reason; colour only on a terminal.
std::string readable(const json& record, bool colour) {
  std::string where = field(record, "dst");
  if (record.contains("src")) where = field(record, "src") + " -> " + where;
  const std::string host = field(record, "host");
  if (!host.empty()) where = where.empty() ? host : where + " (" + host + ")";
  // Two leashed programs the daemon connected to each other: the other one.
  if (record.contains("joined")) where += " (joined " + field(record, "joined") + ")";
  std::string verdict = record.contains("verdict") ? field(record, "verdict") : "";
  const bool learned = record.value("learned", false);
  if (learned) verdict += " (learned)";
  std::string reason = field(record, "reason");
  if (field(record, "op") == "close")
    reason = field(record, "bytes_sent") + " B sent, " + field(record, "bytes_received") + " B received, " +
             field(record, "duration_ms") + " ms";
  if (colour && !verdict.empty()) {
    const char* code = learned ? "\033[33m" : verdict == "allow" ? "\033[32m" : "\033[31m";
    verdict = code + verdict + "\033[0m";
  }
  return field(record, "ts") + "  " + field(record, "app") + "  " + field(record, "op") + "  " + where +
         (verdict.empty() ? "" : "  " + verdict) + (reason.empty() ? "" : "  " + reason);
}

// Prints the wanted records among complete lines of `buffer`, keeping a
// trailing partial line for later. False when stdout is gone (SIGPIPE's case).
bool print_lines(std::string* buffer, const LogOptions& options) {
  size_t start = 0;
  for (size_t end; (end = buffer->find('\n', start)) != std::string::npos; start = end + 1) {
    const std::string_view line(buffer->data() + start, end - start);
    const json record = parse_record(line);
    if (!wanted(record, options.filter)) continue;
    if (options.as_json)
      printf("%.*s\n", static_cast<int>(line.size()), line.data());
    else
      printf("%s\n", readable(record, options.colour).c_str());
  }
  buffer->erase(0, start);
  return fflush(stdout) == 0 && !ferror(stdout);
}

// Reads what the file holds now; false when stdout is gone.
bool drain(int fd, std::string* buffer, const LogOptions& options) {
  char chunk[65536];
  for (;;) {
    const ssize_t n = read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR && !g_interrupted) continue;
    if (n <= 0) return true;
    buffer->append(chunk, static_cast<size_t>(n));
    if (!print_lines(buffer, options)) return false;
  }
}

int open_log(const std::string& path, struct stat* st) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) fstat(fd, st);
  return fd;
}

// Reads on at the end of the file; a new inode at the path (logrotate's
// rename) is opened from its start, a truncated file (copytruncate) re-read.
int follow(int fd, struct stat st, const std::string& path, std::string* buffer, const LogOptions& options) {
  signal(SIGINT, on_interrupt);
  signal(SIGTERM, on_interrupt);
  while (!g_interrupted) {
    if (!drain(fd, buffer, options)) break;
    const timespec interval{0, kFollowIntervalNs};
    nanosleep(&interval, nullptr);
    struct stat now{};
    if (stat(path.c_str(), &now) == 0 && (now.st_ino != st.st_ino || now.st_dev != st.st_dev)) {
      if (!drain(fd, buffer, options)) break;
      const int reopened = open_log(path, &st);
      if (reopened >= 0) {
        close(fd);
        fd = reopened;
        buffer->clear();
      }
    } else if (fstat(fd, &now) == 0 && now.st_size < lseek(fd, 0, SEEK_CUR)) {
      lseek(fd, 0, SEEK_SET);
      buffer->clear();
    }
  }
  close(fd);
  return 0;
}

}  // namespace

int command_log(const std::string& control_path, const Args& args) {
  LogOptions options;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    const bool has_value = i + 1 < args.size();
    if (arg == "--deny") {
      options.filter.deny_only = true;
    } else if (arg == "--follow" || arg == "-f") {
      options.follow = true;
    } else if (arg == "--json") {
      options.as_json = true;
    } else if (arg == "--app" && has_value) {
      options.filter.app = args[++i];
    } else if (arg == "--file" && has_value) {
      options.file = args[++i];
    } else if (arg == "--since" && has_value) {
      std::string error;
      const auto since = parse_since(args[++i], &error);
      if (!since) return usage_error(error);
      options.filter.since = *since;
    } else {
      return usage_error("unexpected argument: " + arg);
    }
  }
  options.colour = !options.as_json && isatty(STDOUT_FILENO) && getenv("NO_COLOR") == nullptr;
  std::string path;
  if (const int status = audit_log_path(control_path, options.file, &path); status != 0) return status;
  // A reader that went away (| head) ends the command quietly, not by signal.
  signal(SIGPIPE, SIG_IGN);
  struct stat st{};
  const int fd = open_log(path, &st);
  if (fd < 0) return fail("cannot open " + path + ": " + strerror(errno));
  std::string buffer;
  if (options.follow) return follow(fd, st, path, &buffer, options);
  drain(fd, &buffer, options);
  close(fd);
  return 0;
}

}  // namespace netleash::ctl
