// systemd_glue: socket activation against real sockets at fds 3 and up, and
// sd_notify against real path and abstract datagram sockets.
//
// sd_listen_fds insists on fds starting at 3, which the test runner may be
// using; each activation case therefore runs in a forked child that arranges
// its own fds and reports one line back through a pipe.
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "netleashd/systemd_glue.h"

namespace sd = netleash::netleashd::systemd;

namespace {

struct TempDir {
  std::string path;
  TempDir() {
    char pattern[] = "/tmp/netleash-sdglue-XXXXXX";
    REQUIRE(mkdtemp(pattern) != nullptr);
    path = pattern;
  }
  ~TempDir() { std::system(("rm -rf '" + path + "'").c_str()); }
};

sockaddr_un unix_address(const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  return address;
}

// A bound socket of `type` at `path`, listening unless told otherwise; -1 on failure.
int make_socket(int type, const std::string& path, bool listening = true) {
  const int fd = socket(AF_UNIX, type, 0);
  const sockaddr_un address = unix_address(path);
  if (fd < 0 || bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0 ||
      (listening && listen(fd, 8) != 0))
    return -1;
  return fd;
}

std::string describe(int fd) {
  const int fd_flags = fcntl(fd, F_GETFD);
  const int fl_flags = fcntl(fd, F_GETFL);
  return std::to_string(fd) + ((fd_flags & FD_CLOEXEC) ? " cloexec" : "") +
         ((fl_flags & O_NONBLOCK) ? " nonblock" : "");
}

// In a child: moves `sockets` to fds 3, 4, ... (in that order), sets LISTEN_*
// (LISTEN_PID = `pid_offset` + own pid, so non-zero means "for someone else"),
// calls take_activated_sockets and returns what it saw as one line.
std::string activate_in_child(const std::string& socket_path,
                              const std::vector<int>& sockets, int pid_offset = 0,
                              const std::vector<std::string>& names = {}) {
  int pipe_fds[2];
  REQUIRE(pipe(pipe_fds) == 0);
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // Out of the way of 3, 4, ...: the report pipe and the sockets to move.
    const int report = fcntl(pipe_fds[1], F_DUPFD_CLOEXEC, 100);
    std::vector<int> moved;
    for (int fd : sockets) moved.push_back(fcntl(fd, F_DUPFD, 200));
    for (size_t i = 0; i < moved.size(); ++i) dup2(moved[i], 3 + static_cast<int>(i));
    for (int fd : moved) close(fd);
    setenv("LISTEN_PID", std::to_string(getpid() + pid_offset).c_str(), 1);
    setenv("LISTEN_FDS", std::to_string(sockets.size()).c_str(), 1);
    // One name per fd, as systemd passes them: the socket units' names are
    // not looked at, the file descriptor store's are.
    std::string joined;
    for (size_t i = 0; i < sockets.size(); ++i)
      joined += (i ? ":" : "") + (i < names.size() ? names[i] : std::string("ignored"));
    setenv("LISTEN_FDNAMES", joined.c_str(), 1);
    sd::ActivatedSockets found;
    std::string error;
    std::string line;
    if (sd::take_activated_sockets(socket_path, &found, &error)) {
      line = found.activated() ? "stream " + describe(found.stream) + ", seqpacket " +
                                     describe(found.seqpacket)
                               : "not activated";
      if (found.control >= 0) line += ", control " + describe(found.control);
      for (const auto& [fd, name] : found.stored) line += ", stored " + name + " " + describe(fd);
    } else {
      line = "error: " + error + (fcntl(3, F_GETFD) < 0 ? " (fds closed)" : " (fds open)");
    }
    if (getenv("LISTEN_PID") || getenv("LISTEN_FDS") || getenv("LISTEN_FDNAMES"))
      line += " [env kept]";
    (void)!write(report, line.data(), line.size());
    _exit(0);
  }
  close(pipe_fds[1]);
  std::string line;
  char buffer[1024];
  for (ssize_t n; (n = read(pipe_fds[0], buffer, sizeof buffer)) > 0;) line.append(buffer, n);
  close(pipe_fds[0]);
  int status = 0;
  waitpid(child, &status, 0);
  REQUIRE(WIFEXITED(status));
  return line;
}

// A datagram socket standing in for systemd's notify socket; `name` starting
// with '@' is abstract, as systemd may use.
struct NotifyReceiver {
  int fd = -1;
  NotifyReceiver(const std::string& name) {
    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un address = unix_address(name);
    if (name[0] == '@') address.sun_path[0] = '\0';
    const auto length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size());
    REQUIRE(bind(fd, reinterpret_cast<const sockaddr*>(&address), length) == 0);
    setenv("NOTIFY_SOCKET", name.c_str(), 1);
  }
  ~NotifyReceiver() {
    unsetenv("NOTIFY_SOCKET");
    close(fd);
  }
  std::string next() {
    char buffer[4096];
    const ssize_t n = recv(fd, buffer, sizeof buffer, MSG_DONTWAIT);
    return n < 0 ? std::string("(nothing)") : std::string(buffer, static_cast<size_t>(n));
  }
};

}  // namespace

TEST_CASE("without LISTEN_FDS the daemon binds its own sockets") {
  unsetenv("LISTEN_PID");
  unsetenv("LISTEN_FDS");
  sd::ActivatedSockets found;
  std::string error;
  REQUIRE(sd::take_activated_sockets("/run/netleash/netleashd.sock", &found, &error));
  CHECK_FALSE(found.activated());
  CHECK(found.seqpacket == -1);
  CHECK(error.empty());
}

TEST_CASE("both sockets are taken, in either order, cloexec and non-blocking") {
  TempDir dir;
  const std::string path = dir.path + "/netleashd.sock";
  const int stream = make_socket(SOCK_STREAM, path);
  const int seqpacket = make_socket(SOCK_SEQPACKET, path + ".dgram");
  REQUIRE(stream >= 0);
  REQUIRE(seqpacket >= 0);
  CHECK(activate_in_child(path, {stream, seqpacket}) ==
        "stream 3 cloexec nonblock, seqpacket 4 cloexec nonblock");
  CHECK(activate_in_child(path, {seqpacket, stream}) ==
        "stream 4 cloexec nonblock, seqpacket 3 cloexec nonblock");
  close(stream);
  close(seqpacket);
}

TEST_CASE("the control socket (netleashd-control.socket) may come too") {
  TempDir dir;
  const std::string path = dir.path + "/netleashd.sock";
  const int stream = make_socket(SOCK_STREAM, path);
  const int seqpacket = make_socket(SOCK_SEQPACKET, path + ".dgram");
  const int control = make_socket(SOCK_STREAM, path + ".ctl");
  CHECK(activate_in_child(path, {control, stream, seqpacket}) ==
        "stream 4 cloexec nonblock, seqpacket 5 cloexec nonblock, control 3 cloexec nonblock");
  // Without the two main sockets the control socket alone is no activation.
  CHECK(activate_in_child(path, {control}).rfind("error: socket activation passed no listening", 0) == 0);
  close(stream);
  close(seqpacket);
  close(control);
}

TEST_CASE("descriptors from the file descriptor store are told apart by name") {
  TempDir dir;
  const std::string path = dir.path + "/netleashd.sock";
  const int stream = make_socket(SOCK_STREAM, path);
  const int seqpacket = make_socket(SOCK_SEQPACKET, path + ".dgram");
  int pair[2];
  REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, pair) == 0);
  CHECK(activate_in_child(path, {stream, pair[0], seqpacket}, 0, {"netleashd.socket", "nltree-7", "x"}) ==
        "stream 3 cloexec nonblock, seqpacket 5 cloexec nonblock, stored nltree-7 4 cloexec");
  // Only stored descriptors: a restart without socket activation.
  CHECK(activate_in_child(path, {pair[0]}, 0, {"nltree-7"}) == "not activated, stored nltree-7 3 cloexec");
  close(pair[0]);
  close(pair[1]);
  close(stream);
  close(seqpacket);
}

TEST_CASE("fds meant for another process are left alone") {
  TempDir dir;
  const std::string path = dir.path + "/netleashd.sock";
  const int stream = make_socket(SOCK_STREAM, path);
  const int seqpacket = make_socket(SOCK_SEQPACKET, path + ".dgram");
  CHECK(activate_in_child(path, {stream, seqpacket}, /*pid_offset=*/1) == "not activated");
  close(stream);
  close(seqpacket);
}

TEST_CASE("a socket unit that disagrees with --socket is an error") {
  TempDir dir;
  const std::string path = dir.path + "/netleashd.sock";
  const int stream = make_socket(SOCK_STREAM, path);
  const int seqpacket = make_socket(SOCK_SEQPACKET, path + ".dgram");
  const int elsewhere = make_socket(SOCK_SEQPACKET, dir.path + "/other.dgram");
  const int wrong_type = make_socket(SOCK_STREAM, dir.path + "/x.sock.dgram");
  const int not_listening = make_socket(SOCK_SEQPACKET, dir.path + "/y.sock.dgram", false);

  SECTION("a socket at another path") {
    const std::string line = activate_in_child(path, {stream, elsewhere});
    CHECK(line.rfind("error: socket-activation fd 4 is not a listening SOCK_STREAM socket at " +
                         path + " or " + path + ".ctl",
                     0) == 0);
    CHECK(line.find("(fds closed)") != std::string::npos);
    CHECK(line.find("[env kept]") == std::string::npos);
  }
  SECTION("the right path with the wrong type") {
    CHECK(activate_in_child(dir.path + "/x.sock", {wrong_type}).find("fd 3 is not a listening") !=
          std::string::npos);
  }
  SECTION("a bound socket that does not listen") {
    CHECK(activate_in_child(dir.path + "/y.sock", {not_listening}).find("fd 3 is not a listening") !=
          std::string::npos);
  }
  SECTION("the same socket twice") {
    CHECK(activate_in_child(path, {stream, stream}).find("fd 4 is not a listening") != std::string::npos);
  }
  SECTION("only one of the two") {
    CHECK(activate_in_child(path, {stream}).rfind(
              "error: socket activation passed no listening SOCK_SEQPACKET socket at " + path +
                  ".dgram",
              0) == 0);
    CHECK(activate_in_child(path, {seqpacket}).rfind(
              "error: socket activation passed no listening SOCK_STREAM socket at " + path, 0) ==
          0);
  }
  for (int fd : {stream, seqpacket, elsewhere, wrong_type, not_listening}) close(fd);
}

TEST_CASE("notifications reach a path NOTIFY_SOCKET") {
  TempDir dir;
  NotifyReceiver systemd(dir.path + "/notify");
  sd::notify_ready("listening on /run/netleash/netleashd.sock, 3 policies");
  CHECK(systemd.next() == "READY=1\nSTATUS=listening on /run/netleash/netleashd.sock, 3 policies");
  sd::notify_status("reload failed: keeping 3 policies");
  CHECK(systemd.next() == "STATUS=reload failed: keeping 3 policies");
  sd::notify_stopping();
  CHECK(systemd.next() == "STOPPING=1");
  CHECK(systemd.next() == "(nothing)");
}

TEST_CASE("notifications reach an abstract NOTIFY_SOCKET, RELOADING with its clock") {
  NotifyReceiver systemd("@netleash-sdglue-" + std::to_string(getpid()));
  timespec before{};
  clock_gettime(CLOCK_MONOTONIC, &before);
  sd::notify_reloading();
  const std::string message = systemd.next();
  const std::string prefix = "RELOADING=1\nMONOTONIC_USEC=";
  REQUIRE(message.rfind(prefix, 0) == 0);
  const unsigned long long usec = std::stoull(message.substr(prefix.size()));
  CHECK(usec >= static_cast<unsigned long long>(before.tv_sec) * 1000000ULL);
  sd::notify_ready("reloaded");
  CHECK(systemd.next() == "READY=1\nSTATUS=reloaded");
}

TEST_CASE("without NOTIFY_SOCKET notifying does nothing") {
  unsetenv("NOTIFY_SOCKET");
  sd::notify_ready("nobody listens");
  sd::notify_stopping();
  SUCCEED();
}
