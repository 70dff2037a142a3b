// The tunnel handshake (IK + timestamp) and a whole connection, both ways.
#include "hex.h"
#include "netleashd/tunnel/tunnel_connection.h"

#include <catch2/catch.hpp>

using namespace netleash::tunnel;
using netleash::tunnel::test::to_bytes;

namespace {

struct Hosts {
  KeyPair a = generate_keypair();  // initiator
  KeyPair b = generate_keypair();  // responder
  ReplayGuard guard;
  TimestampSource clock;
  Hosts() { guard.add_peer(a.public_key); }
};

// Moves every pending byte between the two until neither has anything to say.
void pump(TunnelConnection& x, TunnelConnection& y, Bytes& x_data, Bytes& y_data) {
  while (x.outgoing_size() > 0 || y.outgoing_size() > 0) {
    REQUIRE(y.feed(x.take_outgoing(), y_data) == TunnelError::ok);
    REQUIRE(x.feed(y.take_outgoing(), x_data) == TunnelError::ok);
  }
}

}  // namespace

TEST_CASE("Tunnel handshake and records in both directions", "[tunnel]") {
  Hosts hosts;
  TunnelConnection initiator = TunnelConnection::initiator(hosts.a, hosts.b.public_key, hosts.clock.next());
  TunnelConnection responder = TunnelConnection::responder(hosts.b, hosts.guard);
  CHECK(initiator.outgoing_size() == 2 + kFirstMessageLen);
  CHECK(initiator.send(to_bytes("too early")) == TunnelError::not_established);

  Bytes at_initiator, at_responder;
  pump(initiator, responder, at_initiator, at_responder);
  REQUIRE(initiator.established());
  REQUIRE(responder.established());
  CHECK(responder.peer() == hosts.a.public_key);
  CHECK(initiator.handshake_hash().size() == 64);
  CHECK(std::ranges::equal(initiator.handshake_hash(), responder.handshake_hash()));

  REQUIRE(initiator.send(to_bytes("GET / HTTP/1.0\r\n\r\n")) == TunnelError::ok);
  REQUIRE(responder.send(to_bytes("HTTP/1.0 200 OK\r\n")) == TunnelError::ok);
  REQUIRE(responder.rekey_now() == TunnelError::ok);
  REQUIRE(responder.send(to_bytes("body")) == TunnelError::ok);
  REQUIRE(responder.close() == TunnelError::ok);
  CHECK(responder.send(to_bytes("late")) == TunnelError::closed);
  pump(initiator, responder, at_initiator, at_responder);
  CHECK(at_responder == to_bytes("GET / HTTP/1.0\r\n\r\n"));
  CHECK(at_initiator == to_bytes("HTTP/1.0 200 OK\r\nbody"));
  CHECK(initiator.peer_closed());
  CHECK(initiator.end_of_stream() == TunnelError::ok);
  CHECK(responder.end_of_stream() == TunnelError::truncated);
  REQUIRE(initiator.close() == TunnelError::ok);
  pump(initiator, responder, at_initiator, at_responder);
  CHECK(responder.end_of_stream() == TunnelError::ok);
}

TEST_CASE("Handshake reply and first records may arrive in one chunk", "[tunnel]") {
  Hosts hosts;
  TunnelConnection initiator = TunnelConnection::initiator(hosts.a, hosts.b.public_key, hosts.clock.next());
  TunnelConnection responder = TunnelConnection::responder(hosts.b, hosts.guard);
  Bytes at_initiator, at_responder;
  REQUIRE(responder.feed(initiator.take_outgoing(), at_responder) == TunnelError::ok);
  REQUIRE(responder.send(to_bytes("hello")) == TunnelError::ok);
  REQUIRE(responder.close() == TunnelError::ok);
  const Bytes everything = responder.take_outgoing();
  for (const uint8_t byte : everything) {
    REQUIRE(initiator.feed(ByteView(&byte, 1), at_initiator) == TunnelError::ok);
  }
  CHECK(at_initiator == to_bytes("hello"));
  CHECK(initiator.end_of_stream() == TunnelError::ok);
}

TEST_CASE("A replayed or older first message is refused", "[tunnel]") {
  Hosts hosts;
  const Tai64n older = hosts.clock.next();
  const Tai64n newer = hosts.clock.next();
  TunnelConnection first = TunnelConnection::initiator(hosts.a, hosts.b.public_key, newer);
  const Bytes first_message = first.take_outgoing();
  Bytes data;
  TunnelConnection r1 = TunnelConnection::responder(hosts.b, hosts.guard);
  REQUIRE(r1.feed(first_message, data) == TunnelError::ok);

  TunnelConnection r2 = TunnelConnection::responder(hosts.b, hosts.guard);
  CHECK(r2.feed(first_message, data) == TunnelError::replayed_handshake);
  CHECK(r2.outgoing_size() == 0);
  CHECK(r2.feed(first_message, data) == TunnelError::replayed_handshake);  // stays failed

  TunnelConnection stale = TunnelConnection::initiator(hosts.a, hosts.b.public_key, older);
  TunnelConnection r3 = TunnelConnection::responder(hosts.b, hosts.guard);
  CHECK(r3.feed(stale.take_outgoing(), data) == TunnelError::replayed_handshake);

  TunnelConnection fresh = TunnelConnection::initiator(hosts.a, hosts.b.public_key, hosts.clock.next());
  TunnelConnection r4 = TunnelConnection::responder(hosts.b, hosts.guard);
  CHECK(r4.feed(fresh.take_outgoing(), data) == TunnelError::ok);
}

TEST_CASE("Unknown initiators, wrong responder keys and garbage are refused", "[tunnel]") {
  Hosts hosts;
  Bytes data;
  const KeyPair stranger = generate_keypair();
  TunnelConnection intruder = TunnelConnection::initiator(stranger, hosts.b.public_key, hosts.clock.next());
  TunnelConnection r1 = TunnelConnection::responder(hosts.b, hosts.guard);
  CHECK(r1.feed(intruder.take_outgoing(), data) == TunnelError::unknown_peer);
  CHECK(r1.outgoing_size() == 0);

  const KeyPair other_responder = generate_keypair();
  TunnelConnection misdirected = TunnelConnection::initiator(hosts.a, other_responder.public_key, hosts.clock.next());
  TunnelConnection r2 = TunnelConnection::responder(hosts.b, hosts.guard);
  CHECK(r2.feed(misdirected.take_outgoing(), data) == TunnelError::handshake_failed);

  TunnelConnection r3 = TunnelConnection::responder(hosts.b, hosts.guard);
  const Bytes short_message{0, 3, 1, 2, 3};
  CHECK(r3.feed(short_message, data) == TunnelError::bad_handshake);
  TunnelConnection r4 = TunnelConnection::responder(hosts.b, hosts.guard);
  CHECK(r4.feed(Bytes{0, 0}, data) == TunnelError::bad_frame);

  // A reply from someone who is not the configured responder.
  TunnelConnection initiator = TunnelConnection::initiator(hosts.a, hosts.b.public_key, hosts.clock.next());
  ReplayGuard impostor_guard;
  impostor_guard.add_peer(hosts.a.public_key);
  TunnelConnection impostor = TunnelConnection::responder(other_responder, impostor_guard);
  CHECK(impostor.feed(initiator.take_outgoing(), data) == TunnelError::handshake_failed);
}

TEST_CASE("A truncated tunnel is reported at end of stream", "[tunnel]") {
  Hosts hosts;
  TunnelConnection initiator = TunnelConnection::initiator(hosts.a, hosts.b.public_key, hosts.clock.next());
  TunnelConnection responder = TunnelConnection::responder(hosts.b, hosts.guard);
  CHECK(responder.end_of_stream() == TunnelError::truncated);
  Bytes at_initiator, at_responder;
  pump(initiator, responder, at_initiator, at_responder);
  REQUIRE(initiator.send(to_bytes("partial")) == TunnelError::ok);
  pump(initiator, responder, at_initiator, at_responder);
  CHECK(responder.end_of_stream() == TunnelError::truncated);
}

TEST_CASE("TAI64N timestamps order like time and parse strictly", "[tunnel]") {
  const Tai64n t1 = tai64n_from_unix(1'700'000'000, 999'999'999);
  const Tai64n t2 = tai64n_from_unix(1'700'000'001, 0);
  CHECK(t1 < t2);
  CHECK(t1.bytes[0] == 0x40);
  CHECK(parse_tai64n(t1.bytes) == t1);
  Bytes bad(t1.bytes.begin(), t1.bytes.end());
  bad[8] = 0xff;  // nanoseconds >= 10^9
  CHECK_FALSE(parse_tai64n(bad));
  CHECK_FALSE(parse_tai64n(Bytes(11)));
  TimestampSource clock;
  Tai64n previous = clock.next();
  for (int i = 0; i < 1000; ++i) {
    const Tai64n next = clock.next();
    REQUIRE(previous < next);
    previous = next;
  }
}

// The worked example in docs/tunnel.md, generated with python3-dissononce:
// fixed static keys 01..01 (initiator) and 02..02 (responder), ephemeral keys
// 03..03 and 04..04, timestamp 2023-11-14T22:13:20.123456789Z.
TEST_CASE("The docs/tunnel.md worked example", "[tunnel]") {
  using netleash::tunnel::test::from_hex;
  using netleash::tunnel::test::to_hex;
  const auto fixed = [](uint8_t fill) { return *keypair_from_private(Bytes(32, fill)); };
  const auto config = [&](Role role, uint8_t static_fill, uint8_t ephemeral_fill) {
    HandshakeConfig c;
    c.protocol_name = std::string(kTunnelProtocolName);
    c.role = role;
    c.prologue = tunnel_prologue();
    c.local_static = fixed(static_fill);
    c.generate_ephemeral = [=] { return fixed(ephemeral_fill); };
    return c;
  };
  HandshakeConfig init_config = config(Role::initiator, 1, 3);
  init_config.remote_static = fixed(2).public_key;
  HandshakeState initiator(init_config), responder(config(Role::responder, 2, 4));

  const Tai64n timestamp = tai64n_from_unix(1'700'000'000, 123'456'789);
  CHECK(to_hex(timestamp.bytes) == "400000006553f10a075bcd15");
  Bytes first, reply, payload;
  REQUIRE(initiator.write_message(timestamp.bytes, first) == NoiseError::ok);
  CHECK(to_hex(first) ==
        "5dfedd3b6bd47f6fa28ee15d969d5bb0ea53774d488bdaf9df1c6e0124b3ef22"
        "067cf7be2bbd2098cca8cfa1902fe6de60a78362f04eedb3fb1789b2c570e6c5"
        "1dd68bacca6b42eb8dd3d8d5cac6ec08a2d63b5032633e667bdeb3fdac5531d1"
        "82e4f2ad90781c8a9d936142");
  REQUIRE(responder.read_message(first, payload) == NoiseError::ok);
  REQUIRE(responder.write_message({}, reply) == NoiseError::ok);
  CHECK(to_hex(reply) ==
        "ac01b2209e86354fb853237b5de0f4fab13c7fcbf433a61c019369617fecf10b"
        "58b469e24e61a8ec2883373505ec1a7f");
  REQUIRE(initiator.read_message(reply, payload) == NoiseError::ok);
  CHECK(to_hex(initiator.handshake_hash()) ==
        "cf2069bf261c05da7e82ab043e605a30c3a30c62f08b651db781e66b51d33975"
        "427bee8317342859c09c2e980a345478b02037f216642bf1f5d1bd3cbef872de");

  RecordSender to_responder(initiator.split().initiator_to_responder);
  RecordSender to_initiator(responder.split().responder_to_initiator);
  Bytes hello, close;
  REQUIRE(to_responder.send_data(to_bytes("hello"), hello) == TunnelError::ok);
  REQUIRE(to_initiator.send_close(close) == TunnelError::ok);
  CHECK(to_hex(hello) == "00166649d8319a319d6ce09bea2cf1776c8eb46810ef83d6");
  CHECK(to_hex(close) == "0011a69821e4be684bd5640f8e19cbfd907e87");
}
