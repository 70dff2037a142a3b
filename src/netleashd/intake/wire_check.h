// Validation and conversion of what the shim sends (src/common/wire.h).
//
// Everything here is a pure function of its input so that the unit tests and
// the wire-protocol fuzzer can drive it without a loop or a socket.
#pragma once

#include <sys/socket.h>

#include <string>

#include "common/wire.h"

namespace netleash::netleashd {

// Which of the daemon's two sockets a request arrived on.
enum class Channel { kStream, kSeqpacket };

// Returns why `request` must be refused, or nullptr when it is well formed
// for `channel`. Checks magic, version, op, length, address family and name.
const char* validate_request(const wire::Request& request, Channel channel);

// The seqpacket socket delivers the Request as one packet of `packet_size`
// bytes (its real size, from MSG_TRUNC): exactly sizeof(Request), or exactly
// request.length when the client put its padding in the same packet.
const char* check_request_packet(const wire::Request& request, size_t packet_size);

// One packet of a UDP association from the app: DatagramHeader + payload.
// On success fills the (normalized) destination, family 0 meaning
// `default_peer`, and returns nullptr; otherwise returns why the packet is
// malformed (which ends the association).
const char* decode_datagram(const void* packet, size_t size, const wire::Address& default_peer,
                            wire::Address* destination);

// v4-mapped IPv6 addresses are matched and connected to as plain IPv4.
wire::Address normalize_address(const wire::Address& address);

// 0.0.0.0 or :: (by the family's bytes); 127.0.0.0/8 or ::1 (normalized).
bool is_unspecified(const wire::Address& address);
bool is_loopback(const wire::Address& address);

// Converts a (normalized) wire address to a sockaddr; false for family 0 or
// anything other than AF_INET/AF_INET6.
bool to_sockaddr(const wire::Address& address, sockaddr_storage* out, socklen_t* length);

// The reverse; unknown families come back as family 0.
wire::Address from_sockaddr(const sockaddr* address);

// "1.2.3.4:80" or "[::1]:80", as the audit log writes endpoints.
std::string format_endpoint(const wire::Address& address);

// The IP alone ("1.2.3.4", "::1"), as the resolution cache keys it.
std::string format_ip(const wire::Address& address);

wire::Reply make_reply(wire::ReplyKind kind, int error);

}  // namespace netleash::netleashd
