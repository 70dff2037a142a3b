// The wire protocol between libnetleash.so.1 (the shim) and netleashd.
//
// This header is shared by both sides and is deliberately plain: fixed-size,
// trivially copyable structs, no allocation, no exceptions, nothing from the
// C++ library beyond <cstdint>. The shim includes it while linking only libc.
//
// Full prose specification: docs/protocol.md. In short:
//
//  * Every virtual socket is an AF_UNIX fd. A TCP socket is SOCK_STREAM; a UDP
//    socket is SOCK_SEQPACKET (datagram boundaries kept). Name resolution and
//    one-off policy queries use a short-lived SOCK_SEQPACKET connection.
//  * The first message on every connection is a Request. The daemon never
//    trusts anything in it about *who* is asking: identity comes from
//    SO_PEERCRED/SO_PEERPIDFD and /proc/PID/exe.
//  * All integers are in host byte order (both ends are on one host), except
//    Address::port, which is in network byte order like sockaddr_in's.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace netleash::wire {

inline constexpr uint32_t kMagic = 0x314c534eu;  // "NSL1" in memory on little-endian
inline constexpr uint16_t kVersion = 1;

// Largest request or reply the daemon accepts; anything claiming more is hostile.
inline constexpr uint32_t kMaxRequestLength = 64 * 1024;
inline constexpr size_t kMaxHostName = 255;  // RFC 1035 presentation length limit
inline constexpr size_t kMaxResolveAddresses = 32;
inline constexpr size_t kMaxDatagram = 65507;  // largest UDP payload over IPv4

enum class Op : uint16_t {
  // SOCK_STREAM. Connect TCP to `addr`. Replies: Verdict, then (if allowed)
  // Result once the upstream connect finished; then raw bytes both ways.
  kConnect = 1,
  // SOCK_SEQPACKET. Open a UDP association. Reply: Result. Then every packet
  // in either direction is a DatagramHeader followed by the payload.
  kDatagramOpen = 2,
  // SOCK_SEQPACKET. Resolve a host name. Reply: ResolveReply.
  kResolve = 3,
  // SOCK_SEQPACKET. May this process send to `addr` with `protocol`? Reply: Result.
  // With Protocol::kIcmp: the app asked for an ICMP socket (ping), which the
  // shim refuses; the daemon audits the refusal and answers EACCES.
  kCheck = 4,
  // SOCK_STREAM. Listen: the daemon checks the inbound rules for `addr` (the
  // virtual address the app bound), binds and listens on the rule's `expose`
  // address, and replies Result. Then it sends one AcceptRecord (with the
  // accepted connection's fd attached by SCM_RIGHTS) per admitted peer.
  kListen = 5,
  // Reserved.
  kAccept = 6,
  // SOCK_SEQPACKET. Why would the daemon refuse this now? The fields of the
  // refused operation: a non-empty `name` for a resolve; else `addr` and
  // `protocol` of a connect or sendto, or with kFlagListen the address the app
  // listens on (or binds, for UDP). Reply: ReasonReply. Not audited (it
  // decides nothing). The shim asks only when NETLEASH_DEBUG=1 and an
  // operation was just refused, so no allowed operation pays for it.
  kExplain = 7,
  // SOCK_STREAM. The first process of a tree hands netleashd the listener
  // of its tree filter (one descriptor, SCM_RIGHTS), then probes with
  // prctl(kTreeOption): the daemon keeps the listener only if that probe
  // reaches it from the same process. No reply. docs/identity.md.
  kJoinTree = 8,
};

// kIcmp is never relayed: it names an ICMP socket (datagram "ping socket" or
// raw, IPv4 or IPv6) in a kCheck, whose answer is always EACCES. `addr` then
// carries only the socket's family.
enum class Protocol : uint8_t { kIcmp = 1, kTcp = 6, kUdp = 17 };

// An Internet endpoint. family is AF_INET or AF_INET6 (0 = none/unspecified).
// For AF_INET the four address bytes are in addr[0..3]. v4-mapped IPv6
// addresses are sent as they are; the daemon matches them as IPv4.
struct Address {
  uint16_t family;
  uint16_t port;  // network byte order
  uint32_t scope_id;
  uint8_t addr[16];
};
static_assert(sizeof(Address) == 24);

// Socket options the application set before connecting, applied by the daemon
// to its real socket. A bit in `set` says the matching field is meaningful.
struct SocketOptions {
  enum : uint32_t {
    kNoDelay = 1u << 0,
    kKeepAlive = 1u << 1,
    kKeepIdle = 1u << 2,
    kKeepInterval = 1u << 3,
    kKeepCount = 1u << 4,
    kSendBuffer = 1u << 5,
    kReceiveBuffer = 1u << 6,
  };
  uint32_t set;
  int32_t no_delay;
  int32_t keep_alive;
  int32_t keep_idle;
  int32_t keep_interval;
  int32_t keep_count;
  int32_t send_buffer;
  int32_t receive_buffer;
};

struct Request {
  uint32_t magic;    // kMagic
  uint16_t version;  // kVersion
  uint16_t op;       // Op
  // Total bytes the client writes for this request: sizeof(Request) plus
  // `padding` bytes that follow it. Must be <= kMaxRequestLength.
  uint32_t length;
  uint8_t protocol;  // Protocol
  uint8_t reserved[3];
  Address addr;         // destination (kConnect, kDatagramOpen default peer, kCheck)
  SocketOptions options;  // kConnect only
  // kResolve only: NUL-terminated host name and the getaddrinfo hints.
  int32_t hint_family;
  int32_t hint_socktype;
  int32_t hint_protocol;
  int32_t hint_flags;
  char name[kMaxHostName + 1];
  // kListen: the backlog the app passed to listen(). The daemon keeps at most
  // this many accepted connections queued for the app (clamped to a maximum).
  int32_t backlog;
  uint32_t flags;  // RequestFlags
  // kConnect, kListen: the socket's virtual local address, as getsockname
  // reports it to the app (after a port-0 bind, the port the shim invented,
  // where `addr` of a kListen says 0); family 0: not known. The daemon uses
  // it to join a leashed client to a leashed listener that virtually holds
  // the client's destination: the listener's address, the client's source
  // (docs/protocol.md, "Leashed client, leashed listener").
  Address local;
};

enum RequestFlags : uint32_t {
  // kDatagramOpen: `addr` is the virtual address the app bound (a UDP server),
  // not a default peer. The daemon applies the inbound rules for it; when
  // none matches, it opens a client association (see kReplyClient).
  kFlagBound = 1u << 0,
  // kListen: the app set SO_REUSEPORT. Listens of one app on the same
  // virtual address share the daemon's real listener when all of them set it.
  kFlagReusePort = 1u << 1,
  // kListen: the app's AF_INET6 socket set IPV6_V6ONLY: it takes no IPv4 peers.
  kFlagV6Only = 1u << 2,
  // kExplain: `addr` is an address the app listens on, not a destination.
  kFlagListen = 1u << 3,
};

// Why padding exists (kConnect on a non-blocking socket): the shim shrinks the
// socket's SO_SNDBUF and follows the Request with padding bytes so that the
// kernel reports the fd as *not writable* until the daemon has read them. The
// daemon reads exactly sizeof(Request), answers with a Verdict, and drains the
// padding only when the upstream connect has finished (after the Result on a
// failure). So poll/epoll/select see POLLOUT exactly then, as with real TCP.
// On success the Result comes later, ahead of the first upstream bytes or the
// EOF, so that the fd is never readable with nothing to read.

enum class ReplyKind : uint16_t { kVerdict = 1, kResult = 2, kResolve = 3, kAccept = 4, kReason = 5 };

// Verdict (policy decided) and Result (operation finished) share this shape.
// error is 0 or a positive errno value: EACCES for policy, ENOBUFS when the
// daemon's connection limits refuse (Verdict or kDatagramOpen Result), or the
// errno the daemon's real socket reported (ECONNREFUSED, ETIMEDOUT,
// ENETUNREACH, ...). A client passes any non-zero error on as errno.
struct Reply {
  uint32_t magic;  // kMagic
  uint16_t kind;   // ReplyKind
  uint16_t flags;  // ReplyFlags
  int32_t error;
  uint32_t reserved2;
};
static_assert(sizeof(Reply) == 16);

enum ReplyFlags : uint16_t {
  // The Result of a kFlagBound kDatagramOpen: no inbound rule matches the
  // bound address, so the socket is a client that chose its source port
  // (dig -b, NTP, SIP) and the association is a client one, as if unbound:
  // every datagram is checked against the outbound rules, and only peers the
  // app sent to are heard. The shim asks kCheck per destination from then on.
  kReplyClient = 1u << 0,
};

// Resolve status values mirror getaddrinfo's: 0, or one of these.
enum class ResolveStatus : int32_t {
  kOk = 0,
  kNoName = 1,   // -> EAI_NONAME (also: no rule allows the name)
  kAgain = 2,    // -> EAI_AGAIN
  kFail = 3,     // -> EAI_FAIL
  kNoData = 4,   // -> EAI_NODATA / EAI_NONAME: name exists, no address of that family
};

struct ResolveReply {
  uint32_t magic;  // kMagic
  uint16_t kind;   // ReplyKind::kResolve
  uint16_t count;  // number of valid entries in addrs
  int32_t status;  // ResolveStatus
  uint32_t ttl;    // seconds the answer stays valid for policy purposes
  char canonical_name[kMaxHostName + 1];
  Address addrs[kMaxResolveAddresses];  // port 0
};

// The answer to kExplain: the reason of the decision the daemon would make
// now, as it would write it in the audit log (cut to fit, NUL-terminated).
inline constexpr size_t kMaxReason = 496;
struct ReasonReply {
  uint32_t magic;   // kMagic
  uint16_t kind;    // ReplyKind::kReason
  uint16_t length;  // bytes of text before the NUL
  int32_t allow;    // 1: the daemon would allow it now (the policy changed, or learn mode)
  uint32_t reserved;
  char text[kMaxReason];
};
static_assert(sizeof(ReasonReply) == 512);

// Sent by the daemon on a kListen stream, one per admitted connection, with
// exactly one fd attached (SCM_RIGHTS): the app's end of a SOCK_STREAM
// socketpair whose other end the daemon relays to the real peer. The kernel
// stops a stream read at a message that carries fds, so a read of exactly
// sizeof(AcceptRecord) takes one record and one fd, atomically, even when
// several processes share the listening socket.
struct AcceptRecord {
  uint32_t magic;  // kMagic
  uint16_t kind;   // ReplyKind::kAccept
  uint16_t reserved;
  Address peer;    // the real client's address
};
static_assert(sizeof(AcceptRecord) == 32);

// Prefix of every packet on a kDatagramOpen association. Shim -> daemon:
// destination (family 0 means "the association's default peer"). Daemon ->
// shim: the real source address of the datagram.
struct DatagramHeader {
  Address addr;
};
static_assert(sizeof(DatagramHeader) == 24);

inline bool valid_magic(uint32_t magic, uint16_t version) {
  return magic == kMagic && version == kVersion;
}

}  // namespace netleash::wire
