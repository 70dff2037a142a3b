// Noise building blocks beyond what the vectors cover: HMAC known answers,
// nonce exhaustion, rekey, failure handling, pattern parsing.
#include "hex.h"
#include "netleashd/noise/noise_handshake_state.h"

#include <catch2/catch.hpp>

using namespace netleash::tunnel;
using netleash::tunnel::test::from_hex;
using netleash::tunnel::test::to_bytes;
using netleash::tunnel::test::to_hex;

namespace {

std::string hmac_hex(HashAlgorithm algo, ByteView key, ByteView data) {
  Bytes out(hash_len(algo));
  hmac(algo, key, {data}, out);
  return to_hex(out);
}

CipherKey key_of(uint8_t fill) {
  Bytes bytes(32, fill);
  return CipherKey(bytes);
}

}  // namespace

TEST_CASE("HMAC-BLAKE2b is RFC 2104 over unkeyed BLAKE2b", "[noise]") {
  // Expected values from Python: hmac.new(key, msg, hashlib.blake2b).
  const Bytes fox = to_bytes("The quick brown fox jumps over the lazy dog");
  CHECK(hmac_hex(HashAlgorithm::blake2b, to_bytes("key"), fox) ==
        "92294f92c0dfb9b00ec9ae8bd94d7e7d8a036b885a499f149dfe2fd2199394aa"
        "af6b8894a1730cccb2cd050f9bcf5062a38b51b0dab33207f8ef35ae2c9df51b");
  // A key longer than BLOCKLEN (128) is hashed first.
  Bytes long_key(200);
  for (std::size_t i = 0; i < long_key.size(); ++i) long_key[i] = static_cast<uint8_t>(i);
  CHECK(hmac_hex(HashAlgorithm::blake2b, long_key, to_bytes("data")) ==
        "dd83a68ea9b851310510d607d0313b685f724931a2a647eb5cd2c13189622293"
        "b8beb6035ca8b00005f251bb5ab9483e9c93bcbc10430e91fbbf9cd946c461c3");
  CHECK(hmac_hex(HashAlgorithm::sha256, to_bytes("key"), fox) ==
        "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8");
}

TEST_CASE("CipherState refuses the reserved nonce 2^64-1", "[noise]") {
  CipherState sender, receiver;
  sender.initialize_key(key_of(7));
  receiver.initialize_key(key_of(7));
  sender.set_nonce(UINT64_MAX - 1);
  receiver.set_nonce(UINT64_MAX - 1);
  Bytes ciphertext, plaintext;
  REQUIRE(sender.encrypt_with_ad({}, to_bytes("last"), ciphertext) == NoiseError::ok);
  REQUIRE(receiver.decrypt_with_ad({}, ciphertext, plaintext) == NoiseError::ok);
  CHECK(plaintext == to_bytes("last"));
  CHECK(sender.nonce() == UINT64_MAX);
  Bytes more;
  CHECK(sender.encrypt_with_ad({}, to_bytes("x"), more) == NoiseError::nonce_exhausted);
  CHECK(more.empty());
  CHECK(receiver.decrypt_with_ad({}, ciphertext, more) == NoiseError::nonce_exhausted);
}

TEST_CASE("CipherState decrypt failure keeps n and the output", "[noise]") {
  CipherState sender, receiver;
  sender.initialize_key(key_of(1));
  receiver.initialize_key(key_of(1));
  Bytes ciphertext;
  REQUIRE(sender.encrypt_with_ad({}, to_bytes("hello"), ciphertext) == NoiseError::ok);
  ciphertext[0] ^= 1;
  Bytes plaintext = to_bytes("kept");
  CHECK(receiver.decrypt_with_ad({}, ciphertext, plaintext) == NoiseError::decrypt_failed);
  CHECK(plaintext == to_bytes("kept"));
  CHECK(receiver.nonce() == 0);
  CHECK(receiver.decrypt_with_ad({}, Bytes(15), plaintext) == NoiseError::decrypt_failed);
}

TEST_CASE("Rekey is ENCRYPT(k, 2^64-1, empty, zeros)[0:32] and keeps n", "[noise]") {
  const CipherKey k = key_of(9);
  Bytes expected(48);
  const Bytes zeros(32);
  cipher_encrypt(CipherAlgorithm::chachapoly, k, UINT64_MAX, {}, zeros, expected.data());
  expected.resize(32);
  CHECK(to_hex(cipher_rekey(CipherAlgorithm::chachapoly, k).view()) == to_hex(expected));

  CipherState a, b;
  a.initialize_key(k);
  b.initialize_key(k);
  Bytes ciphertext, plaintext;
  REQUIRE(a.encrypt_with_ad({}, to_bytes("one"), ciphertext) == NoiseError::ok);
  REQUIRE(a.rekey() == NoiseError::ok);
  CHECK(a.nonce() == 1);
  ciphertext.clear();
  REQUIRE(a.encrypt_with_ad({}, to_bytes("two"), ciphertext) == NoiseError::ok);
  b.set_nonce(1);
  CHECK(b.decrypt_with_ad({}, ciphertext, plaintext) == NoiseError::decrypt_failed);
  REQUIRE(b.rekey() == NoiseError::ok);
  CHECK(b.decrypt_with_ad({}, ciphertext, plaintext) == NoiseError::ok);
  CHECK(plaintext == to_bytes("two"));
  CipherState empty;
  CHECK(empty.rekey() == NoiseError::no_key);
}

TEST_CASE("Handshake patterns parse with psk modifiers", "[noise]") {
  const auto ik = parse_handshake_pattern("IK");
  REQUIRE(ik);
  CHECK(ik->responder_premessage == MessagePattern{Token::s});
  CHECK(ik->messages == std::vector<MessagePattern>{{Token::e, Token::es, Token::s, Token::ss},
                                                    {Token::e, Token::ee, Token::se}});
  const auto xx = parse_handshake_pattern("XXpsk0+psk3");
  REQUIRE(xx);
  CHECK(xx->psk_mode);
  CHECK(xx->psk_count == 2);
  CHECK(xx->messages.front().front() == Token::psk);
  CHECK(xx->messages.back().back() == Token::psk);
  CHECK(parse_handshake_pattern("X")->one_way);

  CHECK_FALSE(parse_handshake_pattern("ZZ"));
  CHECK_FALSE(parse_handshake_pattern("NNpsk3"));       // past the last message
  CHECK_FALSE(parse_handshake_pattern("NNpsk0+psk0"));  // duplicate
  CHECK_FALSE(parse_handshake_pattern("NNfallback"));
  CHECK_FALSE(parse_handshake_pattern("NNpsk"));
  CHECK_FALSE(parse_handshake_pattern("NNpsk2+"));
  CHECK_FALSE(parse_handshake_pattern("NX1psk4"));  // NX1 has three messages
}

TEST_CASE("Protocol names outside this build are refused with a reason", "[noise]") {
  const auto reason_of = [](std::string_view name) {
    try {
      (void)parse_protocol_name(name);
    } catch (const UnsupportedProtocol& e) {
      return e.reason();
    }
    FAIL("accepted " << name);
    return UnsupportedReason::malformed;
  };
  CHECK(reason_of("Noise_IK_448_ChaChaPoly_BLAKE2b") == UnsupportedReason::dh);
  CHECK(reason_of("Noise_IK_25519_ChaChaPoly_BLAKE2s") == UnsupportedReason::hash);
  CHECK(reason_of("Noise_IK_25519_AES_BLAKE2b") == UnsupportedReason::cipher);
  CHECK(reason_of("Noise_QQ_25519_ChaChaPoly_BLAKE2b") == UnsupportedReason::pattern);
  CHECK(reason_of("Noise_IK_25519_ChaChaPoly") == UnsupportedReason::malformed);
  CHECK(reason_of("NoisePSK_IK_25519_ChaChaPoly_BLAKE2b") == UnsupportedReason::malformed);
  CHECK(parse_protocol_name("Noise_IK_25519_ChaChaPoly_BLAKE2b").pattern.name == "IK");
}

TEST_CASE("HandshakeState checks keys, turns, and fails for good", "[noise]") {
  const KeyPair responder_static = generate_keypair();
  HandshakeConfig missing;
  missing.protocol_name = "Noise_IK_25519_ChaChaPoly_BLAKE2b";
  missing.local_static = generate_keypair();
  CHECK_THROWS_AS(HandshakeState(missing), std::invalid_argument);  // no rs

  HandshakeConfig init;
  init.protocol_name = "Noise_IK_25519_ChaChaPoly_BLAKE2b";
  init.local_static = generate_keypair();
  init.remote_static = responder_static.public_key;
  HandshakeConfig resp;
  resp.protocol_name = init.protocol_name;
  resp.role = Role::responder;
  resp.local_static = responder_static;

  HandshakeState initiator(init), responder(resp);
  Bytes message, payload;
  CHECK(responder.write_message({}, message) == NoiseError::wrong_turn);
  REQUIRE(initiator.write_message(to_bytes("hi"), message) == NoiseError::ok);
  CHECK(message.size() == 32 + 48 + 2 + 16);

  Bytes tampered = message;
  tampered.back() ^= 0x80;
  CHECK(responder.read_message(tampered, payload) == NoiseError::decrypt_failed);
  CHECK(responder.read_message(message, payload) == NoiseError::handshake_failed);

  HandshakeState fresh(resp);
  CHECK(fresh.read_message(ByteView(message).first(40), payload) == NoiseError::message_too_short);
  HandshakeState fresh2(resp);
  REQUIRE(fresh2.read_message(message, payload) == NoiseError::ok);
  CHECK(payload == to_bytes("hi"));
  CHECK(*fresh2.remote_static() == init.local_static->public_key);
}

TEST_CASE("A low-order ephemeral key fails the handshake", "[noise]") {
  HandshakeConfig resp;
  resp.protocol_name = "Noise_NN_25519_ChaChaPoly_BLAKE2b";
  resp.role = Role::responder;
  HandshakeState responder(resp);
  Bytes first(32, 0), payload;  // the all-zero point has order 1
  REQUIRE(responder.read_message(first, payload) == NoiseError::ok);
  Bytes reply;
  CHECK(responder.write_message({}, reply) == NoiseError::invalid_dh);
}
