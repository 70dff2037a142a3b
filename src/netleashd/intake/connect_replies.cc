#include "netleashd/intake/connect_replies.h"

#include <sys/socket.h>

#include "netleashd/intake/wire_check.h"

namespace netleash::netleashd {

bool send_reply(int fd, wire::ReplyKind kind, int error) {
  const wire::Reply reply = make_reply(kind, error);
  return send(fd, &reply, sizeof reply, MSG_DONTWAIT | MSG_NOSIGNAL) == sizeof reply;
}

void send_failed_result(int fd, uint32_t padding, int error) {
  send_reply(fd, wire::ReplyKind::kResult, error);
  // The padding came in the Request's own send, so it is all queued by now.
  // Bounded by kMaxRequestLength; a shortfall (a hostile client) just ends it.
  char sink[4096];
  while (padding > 0) {
    const size_t want = padding < sizeof sink ? padding : sizeof sink;
    const ssize_t n = recv(fd, sink, want, MSG_DONTWAIT);
    if (n <= 0) return;
    padding -= static_cast<uint32_t>(n);
  }
}

}  // namespace netleash::netleashd
