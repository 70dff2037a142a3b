// Runs the published Noise test vectors (cacophony and snow, read at test time
// from the directory of meson option noise_vectors, by default ../shared/test-vectors/noise)
// every handshake message, the handshake hash, and the transport messages.
#include "hex.h"
#include "netleashd/noise/noise_handshake_state.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>

using namespace netleash::tunnel;
using netleash::tunnel::test::from_hex;
using netleash::tunnel::test::to_hex;
using json = nlohmann::json;

namespace {

struct Outcome {
  bool ok = true;
  std::string failure;
};

KeyPair keypair_from_hex(const std::string& hex) {
  auto pair = keypair_from_private(from_hex(hex));
  if (!pair) throw std::invalid_argument("bad private key in vector");
  return std::move(*pair);
}

HandshakeConfig side_config(const json& vector, const std::string& side, Role role) {
  HandshakeConfig config;
  config.protocol_name = vector.at("protocol_name").get<std::string>();
  config.role = role;
  config.prologue = from_hex(vector.at(side + "_prologue").get<std::string>());
  if (vector.contains(side + "_static")) {
    config.local_static = keypair_from_hex(vector.at(side + "_static").get<std::string>());
  }
  if (vector.contains(side + "_remote_static")) {
    PublicKey rs{};
    const Bytes bytes = from_hex(vector.at(side + "_remote_static").get<std::string>());
    std::copy_n(bytes.begin(), rs.size(), rs.begin());
    config.remote_static = rs;
  }
  if (vector.contains(side + "_psks")) {
    for (const auto& psk : vector.at(side + "_psks")) {
      config.psks.emplace_back(from_hex(psk.get<std::string>()));
    }
  }
  if (vector.contains(side + "_ephemeral")) {
    const std::string ephemeral = vector.at(side + "_ephemeral").get<std::string>();
    config.generate_ephemeral = [ephemeral] { return keypair_from_hex(ephemeral); };
  }
  return config;
}

Outcome run_vector(const json& vector) {
  HandshakeState initiator(side_config(vector, "init", Role::initiator));
  HandshakeState responder(side_config(vector, "resp", Role::responder));
  const bool one_way = initiator.protocol().pattern.one_way;
  std::optional<TransportCiphers> init_ciphers, resp_ciphers;

  const json& messages = vector.at("messages");
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const Bytes payload = from_hex(messages[i].at("payload").get<std::string>());
    const Bytes expected = from_hex(messages[i].at("ciphertext").get<std::string>());
    const std::string where = "message " + std::to_string(i);
    Bytes sent, received;
    if (!initiator.is_finished()) {
      const bool initiator_sends = i % 2 == 0;
      HandshakeState& writer = initiator_sends ? initiator : responder;
      HandshakeState& reader = initiator_sends ? responder : initiator;
      if (writer.write_message(payload, sent) != NoiseError::ok) return {false, where + ": write failed"};
      if (sent != expected) return {false, where + ": ciphertext " + to_hex(sent) + " != " + to_hex(expected)};
      const NoiseError read = reader.read_message(sent, received);
      if (read != NoiseError::ok) return {false, where + ": read: " + std::string(to_string(read))};
      if (received != payload) return {false, where + ": payload mismatch"};
      if (initiator.is_finished() != responder.is_finished()) return {false, where + ": sides disagree"};
      if (initiator.is_finished()) {
        const Bytes hash = vector.contains("handshake_hash")
                               ? from_hex(vector.at("handshake_hash").get<std::string>())
                               : Bytes(initiator.handshake_hash().begin(), initiator.handshake_hash().end());
        if (!std::ranges::equal(initiator.handshake_hash(), hash) ||
            !std::ranges::equal(responder.handshake_hash(), hash)) {
          return {false, "handshake hash mismatch"};
        }
        init_ciphers = initiator.split();
        resp_ciphers = responder.split();
      }
      continue;
    }
    // Transport phase: messages keep alternating, except in one-way patterns
    // where only the initiator sends (§7.4).
    const bool initiator_sends = one_way || i % 2 == 0;
    CipherState& sender = initiator_sends ? init_ciphers->initiator_to_responder
                                          : resp_ciphers->responder_to_initiator;
    CipherState& receiver = initiator_sends ? resp_ciphers->initiator_to_responder
                                            : init_ciphers->responder_to_initiator;
    if (sender.encrypt_with_ad({}, payload, sent) != NoiseError::ok) return {false, where + ": encrypt failed"};
    if (sent != expected) return {false, where + ": transport ciphertext mismatch"};
    if (receiver.decrypt_with_ad({}, sent, received) != NoiseError::ok || received != payload) {
      return {false, where + ": transport decrypt failed"};
    }
  }
  if (!initiator.is_finished()) return {false, "vector ended before the handshake did"};
  return {};
}

std::filesystem::path vectors_dir() { return NOISE_VECTORS_DIR; }

json load_vectors(const std::string& file) {
  const std::filesystem::path path = vectors_dir() / file;
  std::ifstream in(path);
  if (!in) FAIL("cannot open Noise test vectors " << path << " (set -Dnoise_vectors=DIR)");
  return json::parse(in).at("vectors");
}

std::string_view reason_name(UnsupportedReason reason) {
  switch (reason) {
    case UnsupportedReason::malformed: return "malformed name";
    case UnsupportedReason::pattern: return "unsupported pattern";
    case UnsupportedReason::dh: return "DH 448 (not in libsodium)";
    case UnsupportedReason::cipher: return "cipher unavailable";
    case UnsupportedReason::hash: return "hash BLAKE2s (not in libsodium)";
  }
  return "?";
}

// "Noise_XXpsk3_25519_ChaChaPoly_BLAKE2b" -> "XX" (pattern without modifiers).
std::string family_of(const std::string& name) {
  const std::string section = name.substr(6, name.find('_', 6) - 6);
  return section.substr(0, section.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"));
}

}  // namespace

TEST_CASE("Noise test vectors (cacophony, snow)", "[noise][vectors]") {
  INFO("Noise test vectors are read from " << vectors_dir() << " (meson option noise_vectors)");
  REQUIRE(std::filesystem::is_directory(vectors_dir()));
  std::map<std::string, int> passed_by_family, passed_by_suite;
  std::map<std::string, int> skipped_by_reason;
  int passed = 0, failed = 0, skipped = 0;
  for (const std::string file : {"cacophony.json", "snow.json"}) {
    const json vectors = load_vectors(file);
    REQUIRE(vectors.size() > 100);
    for (const json& vector : vectors) {
      const std::string name = vector.at("protocol_name").get<std::string>();
      try {
        (void)parse_protocol_name(name);
      } catch (const UnsupportedProtocol& e) {
        ++skipped;
        ++skipped_by_reason[std::string(reason_name(e.reason()))];
        continue;
      }
      const Outcome outcome = run_vector(vector);
      INFO(file << ": " << name << ": " << outcome.failure);
      CHECK(outcome.ok);
      if (!outcome.ok) {
        ++failed;
        continue;
      }
      ++passed;
      ++passed_by_family[family_of(name)];
      ++passed_by_suite[name.substr(name.find('_', 6) + 1)];
    }
  }
  std::cout << "Noise vectors: " << passed << " passed, " << failed << " failed, " << skipped
            << " skipped\n  passed by pattern family (psk variants included):";
  for (const auto& [family, count] : passed_by_family) std::cout << ' ' << family << '=' << count;
  std::cout << "\n  passed by DH_cipher_hash:";
  for (const auto& [suite, count] : passed_by_suite) std::cout << ' ' << suite << '=' << count;
  std::cout << "\n  skipped by reason:";
  for (const auto& [reason, count] : skipped_by_reason) std::cout << " [" << reason << "]=" << count;
  std::cout << '\n';
  CHECK(failed == 0);
  CHECK(passed >= 600);
}
