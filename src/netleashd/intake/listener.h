// The daemon's two Unix listening sockets (PATH: SOCK_STREAM, PATH.dgram:
// SOCK_SEQPACKET). libuv has no seqpacket listener, so both are raw fds
// watched with uv_poll and accepted with accept4, which also keeps the two
// paths identical.
#pragma once

#include <sys/types.h>
#include <uv.h>

#include <string>

#include "netleashd/intake/wire_check.h"

namespace netleash::netleashd {

struct Daemon;

struct Listener {
  Daemon* daemon;
  Channel channel;
  std::string path;
  int fd;
  ino_t inode;          // of the socket file we bound, to unlink only our own
  uv_poll_t poll;
  uv_timer_t backoff;   // accepting paused after EMFILE/ENFILE
  int open_handles;
  // SO_PASSCRED was on before the first client could connect, so every
  // Request carries its sender's credentials. Off for a socket passed without
  // it (an activator without PassCredentials=yes): connections queued before
  // the daemon set it carry none.
  bool credentials_always;
};

// Creates the socket file (mode 0666: identity, not file permissions,
// decides who gets what) and its directory if missing. A stale socket file is
// replaced; a live one (another daemon answers) is an error.
Listener* listener_open(Daemon* daemon, const std::string& path, Channel channel,
                        std::string* error);

// Serves a listening socket passed by systemd (socket activation). Its file
// belongs to netleashd.socket: listener_close never unlinks it. The unit
// should say PassCredentials=yes (see credentials_always).
Listener* listener_adopt(Daemon* daemon, int fd, const std::string& path, Channel channel);

// Stops accepting, closes the socket, unlinks the file if it is still ours.
void listener_close(Listener* listener);

}  // namespace netleash::netleashd
