// libFuzzer target for the tunnel's parsers (src/netleashd/tunnel): the stream
// frame/record decoder and the handshake message parsers. The first input
// byte picks a mode, the second the chunk size the stream is fed in.
//
//   0: raw bytes to a responder connection (first handshake message parser)
//   1: raw bytes to an initiator connection (handshake reply parser)
//   2: raw bytes to a record receiver (framing, authentication failures)
//   3: records built from the input, encrypted with the receiver's key, so
//      the record types, close, rekey and trailing-data rules are reached;
//      the decoded data must equal what a reference model expects
//   4: a genuine first handshake message whose payload is the input, so the
//      parser behind decryption (peer check, timestamp, replay) is reached
#include "netleashd/noise/noise_handshake_state.h"
#include "netleashd/tunnel/record.h"
#include "netleashd/tunnel/tunnel_connection.h"

#include <cstddef>
#include <cstdint>

using namespace netleash::tunnel;

namespace {

KeyPair fixed_keypair(uint8_t fill) {
  const Bytes private_key(32, fill);
  return *keypair_from_private(private_key);
}

const KeyPair& initiator_static() {
  static const KeyPair pair = fixed_keypair(0x11);
  return pair;
}

const KeyPair& responder_static() {
  static const KeyPair pair = fixed_keypair(0x22);
  return pair;
}

CipherState fixed_cipher() {
  const Bytes key(32, 0x33);
  CipherState cipher;
  cipher.initialize_key(CipherKey(key));
  return cipher;
}

template <class Feed>
TunnelError feed_in_chunks(ByteView stream, std::size_t chunk, Feed feed) {
  for (std::size_t at = 0; at < stream.size(); at += chunk) {
    const TunnelError error = feed(stream.subspan(at, std::min(chunk, stream.size() - at)));
    if (error != TunnelError::ok) return error;
  }
  return TunnelError::ok;
}

void check(bool condition) {
  if (!condition) __builtin_trap();
}

// Input: repeated [length byte][plaintext of that length]; each plaintext is
// encrypted and framed as one transport message. Models what the receiver
// must deliver: data bodies up to the first invalid record.
void fuzz_structured_records(ByteView input, std::size_t chunk) {
  CipherState sender = fixed_cipher();
  Bytes stream, expected;
  TunnelError expected_error = TunnelError::ok;
  bool closed = false;
  while (!input.empty()) {
    const std::size_t length = std::min<std::size_t>(input[0], input.size() - 1);
    const ByteView plaintext = input.subspan(1, length);
    input = input.subspan(1 + length);
    Bytes ciphertext;
    check(sender.encrypt_with_ad({}, plaintext, ciphertext) == NoiseError::ok);
    append_frame(stream, ciphertext);
    if (expected_error != TunnelError::ok) continue;
    if (closed) {
      expected_error = TunnelError::data_after_close;
    } else if (plaintext.empty()) {
      expected_error = TunnelError::bad_record;
    } else if (plaintext[0] == 0x01) {
      expected.insert(expected.end(), plaintext.begin() + 1, plaintext.end());
    } else if ((plaintext[0] == 0x02 || plaintext[0] == 0x03) && plaintext.size() == 1) {
      closed = plaintext[0] == 0x02;
      if (plaintext[0] == 0x03) check(sender.rekey() == NoiseError::ok);
    } else {
      expected_error = TunnelError::bad_record;
    }
  }
  RecordReceiver receiver(fixed_cipher());
  Bytes data;
  const TunnelError error =
      feed_in_chunks(stream, chunk, [&](ByteView piece) { return receiver.feed(piece, data); });
  check(error == expected_error);
  check(data == expected);
  if (error == TunnelError::ok) {
    check(receiver.finish() == (closed ? TunnelError::ok : TunnelError::truncated));
  }
}

void fuzz_first_message_payload(ByteView payload, std::size_t chunk) {
  HandshakeConfig config;
  config.protocol_name = std::string(kTunnelProtocolName);
  config.prologue = tunnel_prologue();
  config.local_static = initiator_static();
  config.remote_static = responder_static().public_key;
  config.generate_ephemeral = [] { return fixed_keypair(0x44); };
  HandshakeState initiator(std::move(config));
  Bytes message, stream;
  if (initiator.write_message(payload.first(std::min<std::size_t>(payload.size(), 65000)), message) !=
      NoiseError::ok) {
    return;
  }
  append_frame(stream, message);
  ReplayGuard guard;
  guard.add_peer(initiator_static().public_key);
  TunnelConnection responder = TunnelConnection::responder(responder_static(), guard);
  Bytes data;
  const TunnelError error =
      feed_in_chunks(stream, chunk, [&](ByteView piece) { return responder.feed(piece, data); });
  // Only a well-formed 12-byte timestamp payload may complete the handshake.
  check((error == TunnelError::ok) == (payload.size() == kTai64nLen && parse_tai64n(payload)));
  check(responder.established() == (error == TunnelError::ok));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, std::size_t size) {
  if (size < 2) return 0;
  const uint8_t mode = bytes[0] % 5;
  const std::size_t chunk = std::size_t{bytes[1]} + 1;
  const ByteView input(bytes + 2, size - 2);
  Bytes data;
  switch (mode) {
    case 0: {
      ReplayGuard guard;
      guard.add_peer(initiator_static().public_key);
      TunnelConnection responder = TunnelConnection::responder(responder_static(), guard);
      (void)feed_in_chunks(input, chunk, [&](ByteView piece) { return responder.feed(piece, data); });
      break;
    }
    case 1: {
      TunnelConnection initiator = TunnelConnection::initiator(
          initiator_static(), responder_static().public_key, tai64n_from_unix(0, 0));
      (void)feed_in_chunks(input, chunk, [&](ByteView piece) { return initiator.feed(piece, data); });
      break;
    }
    case 2: {
      RecordReceiver receiver(fixed_cipher());
      (void)feed_in_chunks(input, chunk, [&](ByteView piece) { return receiver.feed(piece, data); });
      check(data.size() <= input.size());
      break;
    }
    case 3: fuzz_structured_records(input, chunk); break;
    case 4: fuzz_first_message_payload(input, chunk); break;
  }
  return 0;
}
