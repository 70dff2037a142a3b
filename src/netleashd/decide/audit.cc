#include "netleashd/decide/audit.h"

#include "netleashd/decide/stats.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <utility>
#include <ctime>
#include <nlohmann/json.hpp>

namespace netleash::netleashd {
namespace {

using Json = nlohmann::ordered_json;

uint64_t now_unix_ms() {
  using namespace std::chrono;
  return static_cast<uint64_t>(
      duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count());
}

// A pipe reports POLLOUT while it has room for at least one more chunk; a
// regular file always does. Writing at most PIPE_BUF bytes per ready check
// keeps a write from blocking on a full pipe.
bool writable_now(int fd) {
  pollfd p{fd, POLLOUT, 0};
  return poll(&p, 1, 0) == 1 && (p.revents & POLLOUT) != 0;
}

constexpr uint64_t kRetryMs = 50;

bool is_regular_file(int fd) {
  struct stat st{};
  return fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
}

// Appends (several writers, logrotate's copytruncate) and creates the file
// readable by the admin group only.
int open_log_file(const std::string& path, std::string* error) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (fd < 0) *error = path + ": " + std::strerror(errno);
  return fd;
}

}  // namespace

std::string format_timestamp(uint64_t unix_ms) {
  const time_t seconds = static_cast<time_t>(unix_ms / 1000);
  tm utc{};
  gmtime_r(&seconds, &utc);
  char text[64];
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                static_cast<unsigned>(unix_ms % 1000));
  return text;
}

std::string format_audit_line(const AuditEvent& event, uint64_t unix_ms, bool learn_mode) {
  Json line;
  line["ts"] = format_timestamp(unix_ms);
  line["app"] = event.app.empty() ? Json(nullptr) : Json(event.app);
  line["pid"] = event.pid;
  line["uid"] = event.uid ? Json(*event.uid) : Json(nullptr);
  line["exe"] = event.exe.empty() ? Json(nullptr) : Json(event.exe);
  if (event.inherited) line["inherited"] = true;
  line["op"] = event.op;
  if (!event.dst.empty()) line["dst"] = event.dst;
  if (!event.src.empty()) line["src"] = event.src;
  if (!event.listen.empty()) line["listen"] = event.listen;
  if (event.protocol != nullptr) line["protocol"] = event.protocol;
  if (!event.host.empty()) line["host"] = event.host;
  if (!event.via.empty()) line["via"] = event.via;
  if (!event.peer.empty()) line["peer"] = event.peer;
  if (!event.joined.empty()) line["joined"] = event.joined;
  line["verdict"] = event.allow ? "allow" : "deny";
  if (event.learned) line["learned"] = true;
  if (learn_mode) line["mode"] = "learn";
  line["rule"] = event.rule ? Json(*event.rule) : Json(nullptr);
  line["reason"] = event.reason;
  // Names and reasons come from applications: never let invalid UTF-8 throw.
  return line.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
}

std::string format_close_line(const CloseEvent& event, uint64_t unix_ms, bool learn_mode) {
  Json line;
  line["ts"] = format_timestamp(unix_ms);
  line["app"] = event.app.empty() ? Json(nullptr) : Json(event.app);
  line["pid"] = event.pid;
  line["uid"] = event.uid ? Json(*event.uid) : Json(nullptr);
  line["exe"] = event.exe.empty() ? Json(nullptr) : Json(event.exe);
  if (event.inherited) line["inherited"] = true;
  line["op"] = event.op;
  if (!event.dst.empty()) line["dst"] = event.dst;
  if (!event.src.empty()) line["src"] = event.src;
  if (!event.listen.empty()) line["listen"] = event.listen;
  line["protocol"] = event.protocol;
  if (!event.via.empty()) line["via"] = event.via;
  if (!event.peer.empty()) line["peer"] = event.peer;
  if (!event.joined.empty()) line["joined"] = event.joined;
  if (!event.error.empty()) line["error"] = event.error;
  line["bytes_sent"] = event.bytes_sent;
  line["bytes_received"] = event.bytes_received;
  line["duration_ms"] = event.duration_ms;
  if (learn_mode) line["mode"] = "learn";
  return line.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
}

Audit::Audit(uv_loop_t* loop, std::string path, int fd, bool owns_fd)
    : path_(std::move(path)), fd_(fd), owns_fd_(owns_fd), regular_file_(is_regular_file(fd)) {
  uv_timer_init(loop, &retry_);
  retry_.data = this;
}

Audit* Audit::open(uv_loop_t* loop, const std::string& path, std::string* error) {
  if (path == "-") return new Audit(loop, path, STDOUT_FILENO, false);
  const int fd = open_log_file(path, error);
  return fd < 0 ? nullptr : new Audit(loop, path, fd, true);
}

bool Audit::reopen(std::string* error) {
  if (!owns_fd_ || !regular_file_) return true;
  const int fd = open_log_file(path_, error);
  if (fd < 0) return false;
  ::close(fd_);
  fd_ = fd;
  regular_file_ = is_regular_file(fd);
  return true;
}

void Audit::record(const AuditEvent& event) {
  if (stats_ != nullptr) stats_->record(event);
  append(format_audit_line(event, now_unix_ms(), learn_mode(event.app)));
}

void Audit::record(const CloseEvent& event) {
  if (stats_ != nullptr) stats_->record(event);
  append(format_close_line(event, now_unix_ms(), learn_mode(event.app)));
}

bool Audit::learn_mode(const std::string& app) const {
  if (policies_ == nullptr || *policies_ == nullptr || app.empty()) return false;
  const policy::AppPolicy* policy = (*policies_)->find(app);
  return policy != nullptr && policy->learn;
}

void Audit::append(std::string line) {
  if (pending_.size() + line.size() > kMaxPending) {
    ++dropped_;
    return;
  }
  pending_ += line;
  flush_ready();
}

void Audit::flush_ready() {
  while (!pending_.empty() && (regular_file_ || writable_now(fd_))) {
    const size_t chunk = regular_file_ ? pending_.size() : std::min<size_t>(pending_.size(), PIPE_BUF);
    const ssize_t n = ::write(fd_, pending_.data(), chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    pending_.erase(0, static_cast<size_t>(n));
  }
  if (pending_.empty()) {
    uv_timer_stop(&retry_);
    if (dropped_ != 0) {
      std::fprintf(stderr, "netleashd: audit log was too slow: %llu lines dropped\n",
                   static_cast<unsigned long long>(dropped_));
      dropped_ = 0;
    }
  } else if (!uv_is_active(reinterpret_cast<uv_handle_t*>(&retry_))) {
    uv_timer_start(&retry_, on_retry, kRetryMs, kRetryMs);
  }
}

void Audit::on_retry(uv_timer_t* timer) { static_cast<Audit*>(timer->data)->flush_ready(); }

void Audit::close() {
  size_t done = 0;
  while (done < pending_.size()) {
    const ssize_t n = ::write(fd_, pending_.data() + done, pending_.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  pending_.clear();
  if (owns_fd_) ::close(fd_);
  uv_close(reinterpret_cast<uv_handle_t*>(&retry_),
           [](uv_handle_t* handle) { delete static_cast<Audit*>(handle->data); });
}

}  // namespace netleash::netleashd
