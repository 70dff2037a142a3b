// Validation of what the shim sends: everything the daemon refuses to act on.
#include <arpa/inet.h>
#include <sys/socket.h>

#include <catch2/catch.hpp>
#include <cstring>

#include "netleashd/intake/wire_check.h"

using namespace netleash;
using netleashd::Channel;
using netleashd::validate_request;

namespace {

wire::Request connect_request(const char* ip, uint16_t port) {
  wire::Request r{};
  r.magic = wire::kMagic;
  r.version = wire::kVersion;
  r.op = static_cast<uint16_t>(wire::Op::kConnect);
  r.length = sizeof r;
  r.protocol = static_cast<uint8_t>(wire::Protocol::kTcp);
  r.addr.family = AF_INET;
  r.addr.port = htons(port);
  inet_pton(AF_INET, ip, r.addr.addr);
  return r;
}

}  // namespace

TEST_CASE("a well-formed kConnect is accepted on the stream socket only") {
  const auto r = connect_request("127.0.0.1", 80);
  CHECK(validate_request(r, Channel::kStream) == nullptr);
  CHECK(validate_request(r, Channel::kSeqpacket) != nullptr);
}

TEST_CASE("bad magic, version, op and lengths are refused") {
  auto r = connect_request("127.0.0.1", 80);
  SECTION("magic") { r.magic = 0x12345678; }
  SECTION("version") { r.version = 2; }
  SECTION("unknown op") { r.op = 99; }
  SECTION("op zero") { r.op = 0; }
  SECTION("reserved inbound op") { r.op = static_cast<uint16_t>(wire::Op::kAccept); }
  SECTION("length too short") { r.length = sizeof r - 1; }
  SECTION("length absurd") { r.length = 0xffffffffu; }
  SECTION("length just above the maximum") { r.length = wire::kMaxRequestLength + 1; }
  SECTION("no address family") { r.addr.family = 0; }
  SECTION("AF_UNIX address") { r.addr.family = AF_UNIX; }
  CHECK(validate_request(r, Channel::kStream) != nullptr);
}

TEST_CASE("padding up to kMaxRequestLength is allowed") {
  auto r = connect_request("127.0.0.1", 80);
  r.length = wire::kMaxRequestLength;
  CHECK(validate_request(r, Channel::kStream) == nullptr);
}

TEST_CASE("kResolve needs a NUL-terminated, non-empty name and a known family") {
  wire::Request r{};
  r.magic = wire::kMagic;
  r.version = wire::kVersion;
  r.op = static_cast<uint16_t>(wire::Op::kResolve);
  r.length = sizeof r;
  std::strcpy(r.name, "example.com");
  CHECK(validate_request(r, Channel::kSeqpacket) == nullptr);
  CHECK(validate_request(r, Channel::kStream) != nullptr);
  SECTION("no NUL") {
    std::memset(r.name, 'a', sizeof r.name);
    CHECK(validate_request(r, Channel::kSeqpacket) != nullptr);
  }
  SECTION("empty") {
    r.name[0] = '\0';
    CHECK(validate_request(r, Channel::kSeqpacket) != nullptr);
  }
  SECTION("family") {
    r.hint_family = AF_UNIX;
    CHECK(validate_request(r, Channel::kSeqpacket) != nullptr);
    r.hint_family = AF_INET6;
    CHECK(validate_request(r, Channel::kSeqpacket) == nullptr);
  }
}

TEST_CASE("kCheck needs an address and TCP, UDP or ICMP; kDatagramOpen may omit the peer") {
  auto r = connect_request("10.0.0.1", 53);
  r.op = static_cast<uint16_t>(wire::Op::kCheck);
  r.protocol = static_cast<uint8_t>(wire::Protocol::kUdp);
  CHECK(validate_request(r, Channel::kSeqpacket) == nullptr);
  r.protocol = static_cast<uint8_t>(wire::Protocol::kIcmp);  // a refused ping socket, to audit
  CHECK(validate_request(r, Channel::kSeqpacket) == nullptr);
  r.protocol = 2;
  CHECK(validate_request(r, Channel::kSeqpacket) != nullptr);
  r.op = static_cast<uint16_t>(wire::Op::kDatagramOpen);
  r.addr.family = 0;
  CHECK(validate_request(r, Channel::kSeqpacket) == nullptr);
  r.addr.family = 1234;
  CHECK(validate_request(r, Channel::kSeqpacket) != nullptr);
}

TEST_CASE("v4-mapped IPv6 addresses become IPv4") {
  wire::Address a{};
  a.family = AF_INET6;
  a.port = htons(443);
  inet_pton(AF_INET6, "::ffff:10.1.2.3", a.addr);
  const wire::Address n = netleashd::normalize_address(a);
  CHECK(n.family == AF_INET);
  CHECK(netleashd::format_endpoint(n) == "10.1.2.3:443");
  inet_pton(AF_INET6, "2001:db8::1", a.addr);
  CHECK(netleashd::normalize_address(a).family == AF_INET6);
}

TEST_CASE("endpoints are formatted as ip:port and [ip6]:port") {
  wire::Address a{};
  a.family = AF_INET6;
  a.port = htons(8080);
  inet_pton(AF_INET6, "::1", a.addr);
  CHECK(netleashd::format_endpoint(a) == "[::1]:8080");
  CHECK(netleashd::format_ip(a) == "::1");
  a.family = 0;
  CHECK(netleashd::format_endpoint(a).empty());
}

TEST_CASE("sockaddr conversions round-trip") {
  const auto r = connect_request("192.0.2.7", 9);
  sockaddr_storage storage{};
  socklen_t length = 0;
  REQUIRE(netleashd::to_sockaddr(r.addr, &storage, &length));
  CHECK(length == sizeof(sockaddr_in));
  const wire::Address back = netleashd::from_sockaddr(reinterpret_cast<sockaddr*>(&storage));
  CHECK(std::memcmp(&back, &r.addr, sizeof back) == 0);
  wire::Address none{};
  CHECK_FALSE(netleashd::to_sockaddr(none, &storage, &length));
}

TEST_CASE("replies carry the magic, kind and error") {
  const wire::Reply reply = netleashd::make_reply(wire::ReplyKind::kVerdict, 13);
  CHECK(reply.magic == wire::kMagic);
  CHECK(reply.kind == 1);
  CHECK(reply.error == 13);
}

TEST_CASE("struct sizes match the Python test client (test/netleashd/netleash_wire.py)") {
  CHECK(sizeof(wire::Request) == 376);
  CHECK(sizeof(wire::Reply) == 16);
  CHECK(sizeof(wire::ResolveReply) == 16 + 256 + 32 * 24);
  CHECK(sizeof(wire::DatagramHeader) == 24);
}

TEST_CASE("a bound (inbound) UDP association needs the address the app bound") {
  wire::Request r{};
  r.magic = wire::kMagic;
  r.version = wire::kVersion;
  r.op = static_cast<uint16_t>(wire::Op::kDatagramOpen);
  r.length = sizeof r;
  r.flags = wire::kFlagBound;
  CHECK(validate_request(r, Channel::kSeqpacket) != nullptr);
}

TEST_CASE("a seqpacket Request packet is exactly the Request, or the Request and its padding") {
  wire::Request r{};
  r.length = sizeof r + 8;
  CHECK(netleashd::check_request_packet(r, sizeof r) == nullptr);
  CHECK(netleashd::check_request_packet(r, sizeof r + 8) == nullptr);
  CHECK(netleashd::check_request_packet(r, sizeof r - 1) != nullptr);
  CHECK(netleashd::check_request_packet(r, sizeof r + 7) != nullptr);
}

TEST_CASE("datagrams need a header, a size within bounds and a destination") {
  char packet[sizeof(wire::DatagramHeader) + 4] = {};
  wire::Address none{}, peer{}, out{};
  peer.family = AF_INET;
  peer.port = htons(53);
  CHECK(netleashd::decode_datagram(packet, sizeof packet, none, &out) != nullptr);  // nowhere to go
  CHECK(netleashd::decode_datagram(packet, sizeof packet, peer, &out) == nullptr);
  CHECK(out.port == htons(53));
  CHECK(netleashd::decode_datagram(packet, sizeof(wire::DatagramHeader) - 1, peer, &out) != nullptr);
  CHECK(netleashd::decode_datagram(packet, sizeof(wire::DatagramHeader) + wire::kMaxDatagram + 1,
                                peer, &out) != nullptr);
  wire::Address odd{};
  odd.family = 99;
  std::memcpy(packet, &odd, sizeof odd);
  CHECK(netleashd::decode_datagram(packet, sizeof packet, peer, &out) != nullptr);
}

TEST_CASE("kListen is a stream request with an address and no padding") {
  auto r = connect_request("127.0.0.1", 8080);
  r.op = static_cast<uint16_t>(wire::Op::kListen);
  CHECK(validate_request(r, Channel::kStream) == nullptr);
  CHECK(validate_request(r, Channel::kSeqpacket) != nullptr);
  r.length = sizeof r + 16;
  CHECK(validate_request(r, Channel::kStream) != nullptr);
}

TEST_CASE("a local address, where kConnect and kListen carry one, is none, IPv4 or IPv6") {
  for (const auto op : {wire::Op::kConnect, wire::Op::kListen}) {
    auto r = connect_request("127.0.0.1", 8080);
    r.op = static_cast<uint16_t>(op);
    r.local.family = AF_INET6;
    CHECK(validate_request(r, Channel::kStream) == nullptr);
    r.local.family = AF_UNIX;
    CHECK(validate_request(r, Channel::kStream) != nullptr);
  }
}

TEST_CASE("kExplain: a name, or an address with a known protocol, on the seqpacket socket only") {
  auto r = connect_request("127.0.0.1", 80);
  r.op = static_cast<uint16_t>(wire::Op::kExplain);
  CHECK(validate_request(r, Channel::kSeqpacket) == nullptr);
  CHECK(validate_request(r, Channel::kStream) != nullptr);
  r.flags = wire::kFlagListen;
  CHECK(validate_request(r, Channel::kSeqpacket) == nullptr);
  SECTION("unknown protocol") {
    r.protocol = 1;
    CHECK(validate_request(r, Channel::kSeqpacket) != nullptr);
  }
  SECTION("neither name nor address") {
    r.addr.family = 0;
    CHECK(validate_request(r, Channel::kSeqpacket) != nullptr);
    std::strcpy(r.name, "example.com");
    CHECK(validate_request(r, Channel::kSeqpacket) == nullptr);
  }
  SECTION("a name without a NUL") {
    std::memset(r.name, 'a', sizeof r.name);
    CHECK(validate_request(r, Channel::kSeqpacket) != nullptr);
  }
}
