// An accepted connection until its Request has arrived: identified at once
// (credentials are those of connect() time), then read with raw recvmsg() on a
// uv_poll so that not one byte past the Request is consumed (the padding must
// stay in the socket until the Result is written; see docs/protocol.md). The
// Request's SCM_CREDENTIALS name the process that sent it, which must get the
// same identity as the one that connected (identity.h, check_sender).
//
// Pending connections are bounded (config max_pending: the oldest is dropped
// to make room) and each must deliver its Request within request_timeout_ms.
// One timer serves them all: they are kept in accept order, so the oldest
// deadline is always the list's head.
#pragma once

#include "netleashd/intake/wire_check.h"

namespace netleash::netleashd {

struct Daemon;
struct PendingQueue;

PendingQueue* pending_queue_create(Daemon* daemon);
// Drops every pending connection and frees the queue (at shutdown).
void pending_queue_close(PendingQueue* queue);

// Takes ownership of the accepted, non-blocking `fd`. `credentials_always`:
// its listener had SO_PASSCRED before any client could connect, so a Request
// without its sender's credentials is refused; otherwise such a Request (one
// queued before the daemon set it) is taken as sent by the connecting process.
void pending_start(Daemon* daemon, int fd, Channel channel, bool credentials_always);

}  // namespace netleash::netleashd
