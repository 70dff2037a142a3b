// Framing and the record layer: chunking, close, rekey, truncation, nonces.
#include "hex.h"
#include "netleashd/tunnel/record.h"

#include <catch2/catch.hpp>

using namespace netleash::tunnel;
using netleash::tunnel::test::to_bytes;

namespace {

struct Pair {
  RecordSender sender;
  RecordReceiver receiver;
};

Pair make_pair(RekeyPolicy policy = {}, uint64_t start_nonce = 0) {
  Bytes key_bytes(32, 0x42);
  const CipherKey key(key_bytes);
  CipherState send, receive;
  send.initialize_key(key);
  receive.initialize_key(key);
  send.set_nonce(start_nonce);
  receive.set_nonce(start_nonce);
  return {RecordSender(send, policy), RecordReceiver(receive)};
}

// Feeds `stream` to the receiver in chunks of `chunk` bytes.
TunnelError feed_in_chunks(RecordReceiver& receiver, ByteView stream, std::size_t chunk, Bytes& data) {
  for (std::size_t at = 0; at < stream.size(); at += chunk) {
    const TunnelError e = receiver.feed(stream.subspan(at, std::min(chunk, stream.size() - at)), data);
    if (e != TunnelError::ok) return e;
  }
  return TunnelError::ok;
}

Bytes pattern_bytes(std::size_t n) {
  Bytes bytes(n);
  for (std::size_t i = 0; i < n; ++i) bytes[i] = static_cast<uint8_t>(i * 31 + 7);
  return bytes;
}

}  // namespace

TEST_CASE("FrameReader reassembles frames from any chunking", "[record]") {
  Bytes stream;
  append_frame(stream, to_bytes("first"));
  append_frame(stream, pattern_bytes(65535));
  append_frame(stream, to_bytes("x"));
  for (std::size_t chunk : {1, 2, 3, 1000, 70000}) {
    FrameReader reader;
    std::vector<Bytes> frames;
    for (std::size_t at = 0; at < stream.size(); at += chunk) {
      ByteView piece = ByteView(stream).subspan(at, std::min(chunk, stream.size() - at));
      while (!piece.empty()) {
        piece = piece.subspan(reader.consume(piece));
        if (reader.has_frame()) {
          frames.emplace_back(reader.frame().begin(), reader.frame().end());
          reader.next();
        }
      }
    }
    REQUIRE(frames.size() == 3);
    CHECK(frames[0] == to_bytes("first"));
    CHECK(frames[1] == pattern_bytes(65535));
    CHECK(frames[2] == to_bytes("x"));
    CHECK(reader.at_boundary());
  }
  FrameReader zero;
  const Bytes empty_frame{0, 0, 1};
  CHECK(zero.consume(empty_frame) == 2);
  CHECK(zero.malformed());
  CHECK(zero.consume(empty_frame) == 0);
  Bytes out;
  CHECK_THROWS(append_frame(out, Bytes{}));
  CHECK_THROWS(append_frame(out, Bytes(65536)));
}

TEST_CASE("Data records round-trip through any chunking and end with close", "[record]") {
  const Bytes payload = pattern_bytes(200'000);  // several maximum-size records
  for (std::size_t chunk : {1, 7, 4096, 1 << 20}) {
    Pair pair = make_pair();
    Bytes stream;
    REQUIRE(pair.sender.send_data(payload, stream) == TunnelError::ok);
    REQUIRE(pair.sender.send_data(to_bytes("tail"), stream) == TunnelError::ok);
    REQUIRE(pair.sender.send_close(stream) == TunnelError::ok);
    CHECK(pair.sender.send_data(to_bytes("late"), stream) == TunnelError::closed);
    Bytes data;
    REQUIRE(feed_in_chunks(pair.receiver, stream, chunk, data) == TunnelError::ok);
    Bytes expected = payload;
    expected.insert(expected.end(), {'t', 'a', 'i', 'l'});
    CHECK(data == expected);
    CHECK(pair.receiver.close_received());
    CHECK(pair.receiver.finish() == TunnelError::ok);
  }
}

TEST_CASE("Records never exceed the Noise message limit", "[record]") {
  Pair pair = make_pair();
  Bytes stream;
  REQUIRE(pair.sender.send_data(pattern_bytes(kMaxRecordData + 1), stream) == TunnelError::ok);
  const std::size_t first = std::size_t{stream[0]} << 8 | stream[1];
  CHECK(first == 65535);
  CHECK(stream.size() == 2 + 65535 + 2 + 1 + 1 + 16);
}

TEST_CASE("Truncation, tampering and trailing data are errors", "[record]") {
  Pair pair = make_pair();
  Bytes stream;
  REQUIRE(pair.sender.send_data(to_bytes("hello"), stream) == TunnelError::ok);
  const std::size_t data_end = stream.size();
  REQUIRE(pair.sender.send_close(stream) == TunnelError::ok);

  SECTION("stream cut before close") {
    Pair fresh = make_pair();
    Bytes data;
    REQUIRE(fresh.receiver.feed(ByteView(stream).first(data_end), data) == TunnelError::ok);
    CHECK(data == to_bytes("hello"));
    CHECK(fresh.receiver.finish() == TunnelError::truncated);
  }
  SECTION("stream cut inside a frame") {
    Pair fresh = make_pair();
    Bytes data;
    REQUIRE(fresh.receiver.feed(ByteView(stream).first(stream.size() - 1), data) == TunnelError::ok);
    CHECK(fresh.receiver.finish() == TunnelError::truncated);
  }
  SECTION("a flipped bit") {
    Pair fresh = make_pair();
    Bytes tampered = stream;
    tampered[5] ^= 0x01;
    Bytes data;
    CHECK(fresh.receiver.feed(tampered, data) == TunnelError::decrypt_failed);
    CHECK(data.empty());
    CHECK(fresh.receiver.feed(stream, data) == TunnelError::decrypt_failed);  // stays failed
  }
  SECTION("bytes after close") {
    Pair fresh = make_pair();
    Bytes extended = stream;
    extended.push_back(0);
    Bytes data;
    CHECK(fresh.receiver.feed(extended, data) == TunnelError::data_after_close);
  }
  SECTION("dropped record") {
    Pair fresh = make_pair();
    Bytes data;
    CHECK(fresh.receiver.feed(ByteView(stream).subspan(data_end), data) == TunnelError::decrypt_failed);
  }
}

TEST_CASE("Unknown record types and close records with a body are refused", "[record]") {
  for (const Bytes& plaintext : {Bytes{0x09, 1}, Bytes{0x02, 0}, Bytes{0x03, 0}, Bytes{0x00}}) {
    Bytes key_bytes(32, 0x42);
    CipherState send;
    send.initialize_key(CipherKey(key_bytes));
    Bytes ciphertext, stream;
    REQUIRE(send.encrypt_with_ad({}, plaintext, ciphertext) == NoiseError::ok);
    append_frame(stream, ciphertext);
    Pair pair = make_pair();
    Bytes data;
    CHECK(pair.receiver.feed(stream, data) == TunnelError::bad_record);
  }
}

TEST_CASE("The sender rekeys by record count and the receiver follows", "[record]") {
  Pair pair = make_pair(RekeyPolicy{.max_records = 3, .max_bytes = uint64_t{1} << 30});
  Bytes stream;
  for (int i = 0; i < 10; ++i) {
    REQUIRE(pair.sender.send_data(to_bytes("record " + std::to_string(i)), stream) == TunnelError::ok);
  }
  REQUIRE(pair.sender.rekey_now(stream) == TunnelError::ok);
  REQUIRE(pair.sender.send_data(to_bytes("after"), stream) == TunnelError::ok);
  REQUIRE(pair.sender.send_close(stream) == TunnelError::ok);
  // 10 data + 3 automatic rekeys (before records 3, 6, 9) + 1 manual + 1 data + close.
  CHECK(pair.sender.nonce() == 16);
  Bytes data;
  REQUIRE(feed_in_chunks(pair.receiver, stream, 5, data) == TunnelError::ok);
  CHECK(data == to_bytes("record 0record 1record 2record 3record 4record 5record 6record 7"
                         "record 8record 9after"));
  CHECK(pair.receiver.finish() == TunnelError::ok);
}

TEST_CASE("The sender rekeys by byte count", "[record]") {
  Pair pair = make_pair(RekeyPolicy{.max_records = 1000, .max_bytes = 100'000});
  Bytes stream;
  REQUIRE(pair.sender.send_data(pattern_bytes(300'000), stream) == TunnelError::ok);
  // 5 data records of up to 65518 bytes; a rekey after the second and fourth.
  CHECK(pair.sender.nonce() == 7);
  Bytes data;
  REQUIRE(pair.receiver.feed(stream, data) == TunnelError::ok);
  CHECK(data == pattern_bytes(300'000));
}

TEST_CASE("Near nonce exhaustion only the close record still goes out", "[record]") {
  Pair pair = make_pair({}, UINT64_MAX - 2);
  Bytes stream;
  REQUIRE(pair.sender.send_data(to_bytes("last data"), stream) == TunnelError::ok);  // n = 2^64-3
  const std::size_t before = stream.size();
  CHECK(pair.sender.send_data(to_bytes("refused"), stream) == TunnelError::nonce_exhausted);
  CHECK(pair.sender.rekey_now(stream) == TunnelError::nonce_exhausted);
  CHECK(stream.size() == before);
  REQUIRE(pair.sender.send_close(stream) == TunnelError::ok);  // n = 2^64-2
  CHECK(pair.sender.send_close(stream) == TunnelError::closed);
  Bytes data;
  REQUIRE(pair.receiver.feed(stream, data) == TunnelError::ok);
  CHECK(data == to_bytes("last data"));
  CHECK(pair.receiver.finish() == TunnelError::ok);
}
