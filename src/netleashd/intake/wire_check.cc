#include "netleashd/intake/wire_check.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

namespace netleash::netleashd {
namespace {

bool is_inet(uint16_t family) { return family == AF_INET || family == AF_INET6; }

bool has_terminating_nul(const char* name, size_t size) {
  return std::memchr(name, '\0', size) != nullptr;
}

const char* validate_op(const wire::Request& request, Channel channel) {
  const auto op = static_cast<wire::Op>(request.op);
  const bool stream = channel == Channel::kStream;
  switch (op) {
    case wire::Op::kConnect:
      if (!stream) return "kConnect on the seqpacket socket";
      if (!is_inet(request.addr.family)) return "kConnect without an AF_INET/AF_INET6 address";
      if (request.local.family != 0 && !is_inet(request.local.family))
        return "kConnect with an unknown local address family";
      return nullptr;
    case wire::Op::kDatagramOpen:
      if (stream) return "kDatagramOpen on the stream socket";
      if (request.addr.family != 0 && !is_inet(request.addr.family))
        return "kDatagramOpen with an unknown address family";
      if ((request.flags & wire::kFlagBound) && !is_inet(request.addr.family))
        return "bound kDatagramOpen without an AF_INET/AF_INET6 address";
      return nullptr;
    case wire::Op::kCheck:
      if (stream) return "kCheck on the stream socket";
      if (!is_inet(request.addr.family)) return "kCheck without an AF_INET/AF_INET6 address";
      if (request.protocol != static_cast<uint8_t>(wire::Protocol::kTcp) &&
          request.protocol != static_cast<uint8_t>(wire::Protocol::kUdp) &&
          request.protocol != static_cast<uint8_t>(wire::Protocol::kIcmp))
        return "kCheck with an unknown protocol";
      return nullptr;
    case wire::Op::kResolve:
      if (stream) return "kResolve on the stream socket";
      if (!has_terminating_nul(request.name, sizeof request.name)) return "name without a NUL";
      if (request.name[0] == '\0') return "empty name";
      if (request.hint_family != AF_UNSPEC && request.hint_family != AF_INET &&
          request.hint_family != AF_INET6)
        return "kResolve with an unknown hint family";
      return nullptr;
    case wire::Op::kListen:
      if (!stream) return "kListen on the seqpacket socket";
      if (!is_inet(request.addr.family)) return "kListen without an AF_INET/AF_INET6 address";
      if (request.local.family != 0 && !is_inet(request.local.family))
        return "kListen with an unknown local address family";
      if (request.length != sizeof request) return "kListen with padding";
      return nullptr;
    case wire::Op::kAccept:
      return "kAccept is reserved";
    case wire::Op::kJoinTree:
      if (!stream) return "kJoinTree on the seqpacket socket";
      if (request.length != sizeof request) return "kJoinTree with padding";
      return nullptr;
    case wire::Op::kExplain:
      if (stream) return "kExplain on the stream socket";
      if (!has_terminating_nul(request.name, sizeof request.name)) return "name without a NUL";
      if (request.name[0] != '\0') return nullptr;
      if (!is_inet(request.addr.family)) return "kExplain without a name or an AF_INET/AF_INET6 address";
      if (request.protocol != static_cast<uint8_t>(wire::Protocol::kTcp) &&
          request.protocol != static_cast<uint8_t>(wire::Protocol::kUdp))
        return "kExplain with an unknown protocol";
      return nullptr;
  }
  return "unknown op";
}

}  // namespace

const char* validate_request(const wire::Request& request, Channel channel) {
  if (request.magic != wire::kMagic) return "bad magic";
  if (request.version != wire::kVersion) return "unsupported version";
  if (request.length < sizeof(wire::Request)) return "length shorter than a Request";
  if (request.length > wire::kMaxRequestLength) return "length above kMaxRequestLength";
  return validate_op(request, channel);
}

const char* check_request_packet(const wire::Request& request, size_t packet_size) {
  if (packet_size < sizeof request) return "truncated request";
  if (packet_size != sizeof request && packet_size != request.length)
    return "packet size does not match the request length";
  return nullptr;
}

const char* decode_datagram(const void* packet, size_t size, const wire::Address& default_peer,
                            wire::Address* destination) {
  if (size < sizeof(wire::DatagramHeader)) return "datagram shorter than its header";
  if (size > sizeof(wire::DatagramHeader) + wire::kMaxDatagram)
    return "datagram larger than kMaxDatagram";
  wire::DatagramHeader header;
  std::memcpy(&header, packet, sizeof header);
  const wire::Address& chosen = header.addr.family == 0 ? default_peer : header.addr;
  if (!is_inet(chosen.family)) return "datagram without a usable destination";
  *destination = normalize_address(chosen);
  return nullptr;
}

wire::Address normalize_address(const wire::Address& address) {
  static constexpr uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (address.family != AF_INET6 || std::memcmp(address.addr, kMappedPrefix, 12) != 0)
    return address;
  wire::Address v4{};
  v4.family = AF_INET;
  v4.port = address.port;
  std::memcpy(v4.addr, address.addr + 12, 4);
  return v4;
}

bool is_unspecified(const wire::Address& address) {
  static const uint8_t kZero[16] = {};
  return std::memcmp(address.addr, kZero, address.family == AF_INET ? 4 : 16) == 0;
}

bool is_loopback(const wire::Address& address) {
  static const uint8_t kLoopback6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  if (address.family == AF_INET) return address.addr[0] == 127;
  return address.family == AF_INET6 && std::memcmp(address.addr, kLoopback6, 16) == 0;
}

bool to_sockaddr(const wire::Address& address, sockaddr_storage* out, socklen_t* length) {
  std::memset(out, 0, sizeof *out);
  if (address.family == AF_INET) {
    auto* sin = reinterpret_cast<sockaddr_in*>(out);
    sin->sin_family = AF_INET;
    sin->sin_port = address.port;
    std::memcpy(&sin->sin_addr, address.addr, 4);
    *length = sizeof *sin;
    return true;
  }
  if (address.family == AF_INET6) {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(out);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = address.port;
    sin6->sin6_scope_id = address.scope_id;
    std::memcpy(&sin6->sin6_addr, address.addr, 16);
    *length = sizeof *sin6;
    return true;
  }
  return false;
}

wire::Address from_sockaddr(const sockaddr* address) {
  wire::Address out{};
  if (address->sa_family == AF_INET) {
    const auto* sin = reinterpret_cast<const sockaddr_in*>(address);
    out.family = AF_INET;
    out.port = sin->sin_port;
    std::memcpy(out.addr, &sin->sin_addr, 4);
  } else if (address->sa_family == AF_INET6) {
    const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(address);
    out.family = AF_INET6;
    out.port = sin6->sin6_port;
    out.scope_id = sin6->sin6_scope_id;
    std::memcpy(out.addr, &sin6->sin6_addr, 16);
  }
  return out;
}

std::string format_ip(const wire::Address& address) {
  char text[INET6_ADDRSTRLEN] = "";
  if (address.family != AF_INET && address.family != AF_INET6) return "";
  inet_ntop(address.family, address.addr, text, sizeof text);
  return text;
}

std::string format_endpoint(const wire::Address& address) {
  const std::string port = std::to_string(ntohs(address.port));
  if (address.family == AF_INET6) return "[" + format_ip(address) + "]:" + port;
  if (address.family == AF_INET) return format_ip(address) + ":" + port;
  return "";
}

wire::Reply make_reply(wire::ReplyKind kind, int error) {
  wire::Reply reply{};
  reply.magic = wire::kMagic;
  reply.kind = static_cast<uint16_t>(kind);
  reply.error = error;
  return reply;
}

}  // namespace netleash::netleashd
