// HandshakeState (Noise spec rev 34 §5.3): runs any handshake pattern that
// parse_protocol_name() accepts, one WriteMessage/ReadMessage per message.
#pragma once

#include "netleashd/noise/noise_dh.h"
#include "netleashd/noise/noise_protocol.h"
#include "netleashd/noise/noise_symmetric_state.h"

#include <functional>
#include <optional>
#include <utility>

namespace netleash::tunnel {

enum class Role { initiator, responder };

using Psk = Secret<32>;

// Arguments of Initialize(handshake_pattern, initiator, prologue, s, e, rs, re)
// plus the PSKs of §9, in the order their "psk" tokens appear.
struct HandshakeConfig {
  std::string protocol_name;
  Role role = Role::initiator;
  Bytes prologue;
  std::optional<KeyPair> local_static;        // s
  std::optional<KeyPair> local_ephemeral;     // e, only for patterns with an "e" pre-message
  std::optional<PublicKey> remote_static;     // rs, for an "s" pre-message of the peer
  std::optional<PublicKey> remote_ephemeral;  // re, for an "e" pre-message of the peer
  std::vector<Psk> psks;
  // GENERATE_KEYPAIR() for the "e" token. Only test vectors replace it (with
  // their fixed ephemeral keys); reusing an ephemeral key is catastrophic (§14).
  std::function<KeyPair()> generate_ephemeral = generate_keypair;
};

// The two transport CipherStates from Split().
struct TransportCiphers {
  CipherState initiator_to_responder;
  CipherState responder_to_initiator;
};

class HandshakeState {
 public:
  // Initialize(). Throws UnsupportedProtocol for an unusable protocol name and
  // std::invalid_argument when a key or PSK the pattern needs is missing.
  explicit HandshakeState(HandshakeConfig config);

  [[nodiscard]] bool is_write_turn() const;
  [[nodiscard]] bool is_finished() const { return next_message_ == protocol_.pattern.messages.size(); }

  // WriteMessage(payload, message_buffer): appends the message to `message`.
  [[nodiscard]] NoiseError write_message(ByteView payload, Bytes& message);
  // ReadMessage(message, payload_buffer): appends the payload to `payload`.
  [[nodiscard]] NoiseError read_message(ByteView message, Bytes& payload);

  // Only meaningful once is_finished(): Split()'s result, and h for channel
  // binding (§11.2).
  [[nodiscard]] TransportCiphers split() const;
  [[nodiscard]] ByteView handshake_hash() const { return symmetric_.handshake_hash(); }

  // rs: known in advance or learnt from an "s" token.
  [[nodiscard]] const std::optional<PublicKey>& remote_static() const { return remote_static_; }
  [[nodiscard]] const Protocol& protocol() const { return protocol_; }
  [[nodiscard]] Role role() const { return role_; }

 private:
  void check_keys_present() const;
  void mix_premessage(const MessagePattern& premessage, bool ours);
  void mix_ephemeral(const PublicKey& public_key);
  [[nodiscard]] NoiseError mix_dh(Token token);
  [[nodiscard]] NoiseError fail(NoiseError error);

  Protocol protocol_;
  Role role_;
  SymmetricState symmetric_;
  std::optional<KeyPair> s_, e_;
  std::optional<PublicKey> remote_static_, remote_ephemeral_;
  std::vector<Psk> psks_;
  std::size_t next_psk_ = 0;
  std::function<KeyPair()> generate_ephemeral_;
  std::size_t next_message_ = 0;
  bool failed_ = false;
};

}  // namespace netleash::tunnel
