// Declarations shared by the shim's files: diagnostics, address conversion,
// the daemon client, and the per-protocol entry points the hooks dispatch to.
#pragma once

#include <errno.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "shim/vsocket.h"

#define NL_EXPORT extern "C" __attribute__((visibility("default")))

namespace netleash::shim {

// --- diagnostics (debug.cc) ----------------------------------------------------
// Prints to stderr only when NETLEASH_DEBUG=1. Never changes errno.
void debug(const char* format, ...) __attribute__((format(printf, 1, 2)));
bool debug_enabled();  // NETLEASH_DEBUG=1
// After a denial, with NETLEASH_DEBUG=1 only: asks the daemon why (Op::kExplain)
// and prints it. `op` is "connect", "sendto", "listen" or "bind"; `listen`:
// `addr` is the address the app listens on. Never changes errno.
void debug_denied_address(const char* op, const wire::Address& addr, bool udp, bool listen);
void debug_denied_name(const char* name);  // a resolve the daemon refused

// --- the seal (seal_guard.cc) -----------------------------------------------------
// True when the process could not be sealed: the shim then refuses every
// Internet socket (EACCES), since nothing else would hold the program.
bool process_unsealed();

// --- the process tree (process_tree.cc) -----------------------------------------
// The constructor: the first process of a tree hands its listener to the daemon.
void tree_start();
// Before a process's first request (daemon_attach): prove which tree it is in.
void tree_join_once();

// Sets errno and returns -1: the shape of every failing hook.
inline int fail(int error) {
  errno = error;
  return -1;
}

// --- addresses (address.cc) ----------------------------------------------------
// Converts the app's sockaddr for a socket of `domain` into a wire address.
// Returns 0 or an errno value (EINVAL, EAFNOSUPPORT, EFAULT) as the kernel would.
int address_from_sockaddr(int domain, const struct sockaddr* sa, socklen_t len, wire::Address* out);
// Writes `addr` as a sockaddr of `domain` (IPv4 sources become v4-mapped on an
// AF_INET6 socket), truncating to *len and storing the full length in *len.
void address_to_sockaddr(int domain, const wire::Address& addr, struct sockaddr* sa, socklen_t* len);
bool address_equal(const wire::Address& a, const wire::Address& b);
// getsockname of a connection from `local` (the socket's address, maybe a
// wildcard) to `peer`: a wildcard becomes the loopback address when the
// peer is loopback, as the kernel would say (v4-mapped on a dual-stack
// socket); otherwise `local` stays (the real local address is the daemon's,
// never the app's business).
wire::Address connection_local(int domain, wire::Address local, const wire::Address& peer);
// A port in the kernel's default ephemeral range, for getsockname.
uint16_t ephemeral_port();

// --- daemon client (daemon_client.cc) --------------------------------------------
// Connects the app's own unix socket `fd` to the daemon's stream listener (or
// the seqpacket one). Waits for backlog room even on a non-blocking socket.
// Returns 0 or ECONNREFUSED (daemon unreachable).
int daemon_attach(int fd, bool datagram);
// Puts a fresh unconnected unix socket of `type` at `fd` (same O_NONBLOCK
// and FD_CLOEXEC) when its daemon connection is dead: a unix socket cannot
// connect twice, while the Internet socket it stands for could. The only
// place the shim swaps the socket under an fd; the old one was useless.
// Returns 0 or -1 with errno.
int replace_unix_socket(int fd, int type);
wire::Request make_request(wire::Op op);
// One request/one reply on a fresh seqpacket connection (kCheck, kResolve).
// Returns the reply length, or -errno (ECONNREFUSED when unreachable,
// ETIMEDOUT when the daemon does not answer in time).
ssize_t daemon_ask(const wire::Request& request, void* reply, size_t reply_size, int timeout_ms);
// Sends all of `len` bytes on our own connection setup path (MSG_NOSIGNAL);
// waits for room with poll on a non-blocking socket. Returns 0 or an errno.
int send_all(int fd, const void* data, size_t len);
// Waits until fd is readable (for the verdict on a non-blocking socket).
// Returns 0, or ETIMEDOUT.
int wait_readable(int fd, int timeout_ms);
bool fd_is_nonblocking(int fd);

// --- TCP (tcp_connect.cc) --------------------------------------------------------
int tcp_connect(VSocket* vs, int fd, const struct sockaddr* sa, socklen_t len);
// Finishes a pending connect. Returns 0 when established, a positive errno
// when it failed (reported now, state becomes kTcpClosed), or -1 with errno
// EAGAIN (still pending, non-blocking) / EINTR.
int tcp_finish_connect(VSocket* vs, int fd, bool wait);
// kTcpEstablished or kTcpResultAhead: connected, as the app sees it.
bool tcp_is_established(State s);
// Strips the success Result ahead of the first byte (kTcpResultAhead), then
// the socket is a plain stream. Returns 0, or -1 with errno (EAGAIN, EINTR,
// ECONNRESET when the connection ended before any byte came).
int tcp_read_result_ahead(VSocket* vs, int fd, bool wait);
// SO_ERROR for a virtual TCP socket.
int tcp_take_error(VSocket* vs, int fd);
// Is it connected now? Completes a successful non-blocking connect whose
// Result is in, without waiting; leaves a failure for SO_ERROR to report.
bool tcp_check_connected(VSocket* vs, int fd);

// --- slow-path I/O (io_slow.cc) --------------------------------------------------
ssize_t slow_sendmsg(VSocket* vs, int fd, const struct msghdr* msg, int flags);
ssize_t slow_recvmsg(VSocket* vs, int fd, struct msghdr* msg, int flags);

// --- UDP (udp.cc) ----------------------------------------------------------------
int udp_connect(VSocket* vs, int fd, const struct sockaddr* sa, socklen_t len);
// Opens the socket's association now if it is not open. Returns 0 or an errno.
int udp_ensure_open(VSocket* vs, int fd);
ssize_t udp_sendmsg(VSocket* vs, int fd, const struct msghdr* msg, int flags);
ssize_t udp_recvmsg(VSocket* vs, int fd, struct msghdr* msg, int flags);

// --- options (options.cc) --------------------------------------------------------
int options_get(VSocket* vs, int fd, int level, int name, void* value, socklen_t* len);
int options_set(VSocket* vs, int fd, int level, int name, const void* value, socklen_t len);
// Puts the unix socket's SO_SNDBUF back after the non-blocking connect trick.
void options_restore_sndbuf(VSocket* vs, int fd);

}  // namespace netleash::shim

// --- name resolution (resolve_client.cc) -------------------------------------------
namespace netleash::shim {
// Asks the daemon to resolve `name`. Returns 0 with `out` validated, or an
// EAI_* code (EAI_NONAME when no rule allows it, EAI_AGAIN when unreachable).
int daemon_resolve(const char* name, int family, int socktype, int protocol, int flags, wire::ResolveReply* out);
// Parses a numeric IPv4 (inet_aton forms) or IPv6 (with %scope) host.
bool parse_numeric_host(const char* node, wire::Address* out);
}  // namespace netleash::shim
