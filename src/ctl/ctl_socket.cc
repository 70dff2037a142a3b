#include "ctl/ctl_socket.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace netleash::ctl {
namespace {

// A reload of a large policy directory can take a moment; anything longer
// means the daemon is stuck.
constexpr int kTimeoutMs = 10000;
constexpr size_t kMaxResponse = 16u << 20;

bool read_answer(int fd, const std::string& path, std::string* answer, std::string* error) {
  char chunk[4096];
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    const int ready = poll(&p, 1, kTimeoutMs);
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) {
      *error = ready == 0 ? "no answer from " + path : "cannot read from " + path + ": " + strerror(errno);
      return false;
    }
    const ssize_t n = read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      *error = "cannot read from " + path + ": " + strerror(errno);
      return false;
    }
    if (n == 0) return true;
    answer->append(chunk, static_cast<size_t>(n));
    if (answer->size() > kMaxResponse) {
      *error = "answer from " + path + " is too long";
      return false;
    }
  }
}

}  // namespace

bool ask(const std::string& path, const nlohmann::json& request, nlohmann::json* answer, std::string* error) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    *error = "socket path too long: " + path;
    return false;
  }
  memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    *error = "cannot connect to " + path + ": " + strerror(errno);
    if (fd >= 0) close(fd);
    return false;
  }
  const std::string line = request.dump() + "\n";
  std::string text;
  bool ok = send(fd, line.data(), line.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(line.size());
  if (!ok) *error = "cannot send to " + path + ": " + strerror(errno);
  ok = ok && read_answer(fd, path, &text, error);
  close(fd);
  if (!ok) return false;
  *answer = nlohmann::json::parse(text, nullptr, false);
  if (answer->is_object()) return true;
  *error = "unreadable answer from " + path;
  return false;
}

int fail(const std::string& message, int status) {
  fprintf(stderr, "%s: %s\n", kProgram, message.c_str());
  return status;
}

}  // namespace netleash::ctl
