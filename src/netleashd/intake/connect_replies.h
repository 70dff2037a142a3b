// The daemon's answers on a kConnect stream (docs/protocol.md, "TCP"):
// shared by plain upstream connects (tcp_session) and tunnelled ones
// (tunnel_dialer).
#pragma once

#include <cstdint>

#include "common/wire.h"

namespace netleash::netleashd {

// Sends one Reply without blocking. False if the app's socket did not take it.
bool send_reply(int fd, wire::ReplyKind kind, int error);

// A connect that failed upstream: the failure Result, then the app's padding
// read off (a padded, non-blocking connect). In this order the app's fd turns
// writable only once the Result is queued, and before the daemon closes it:
// the kernel wakes a peer about a close before it frees the unread padding,
// so without the drain poll() could report the hang-up without POLLOUT.
void send_failed_result(int fd, uint32_t padding, int error);

}  // namespace netleash::netleashd
