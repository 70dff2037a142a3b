#include "netleashd/noise/noise_handshake_state.h"

#include <algorithm>

namespace netleash::tunnel {
namespace {

bool sender_is_initiator(std::size_t message_index) { return message_index % 2 == 0; }

bool contains(const MessagePattern& tokens, Token token) {
  return std::ranges::find(tokens, token) != tokens.end();
}

// DH tokens name (initiator key, responder key): "es" is the initiator's
// ephemeral with the responder's static (§5.3 WriteMessage).
bool uses_own_static(Token token, Role role) {
  switch (token) {
    case Token::ss: return true;
    case Token::se: return role == Role::initiator;
    case Token::es: return role == Role::responder;
    default: return false;
  }
}

}  // namespace

HandshakeState::HandshakeState(HandshakeConfig config)
    : protocol_(parse_protocol_name(config.protocol_name)),
      role_(config.role),
      symmetric_(protocol_.cipher, protocol_.hash, protocol_.name),
      s_(std::move(config.local_static)),
      e_(std::move(config.local_ephemeral)),
      remote_static_(config.remote_static),
      remote_ephemeral_(config.remote_ephemeral),
      psks_(std::move(config.psks)),
      generate_ephemeral_(std::move(config.generate_ephemeral)) {
  check_keys_present();
  symmetric_.mix_hash(config.prologue);
  // Pre-message keys are hashed initiator's first (§5.3 Initialize).
  const bool initiator = role_ == Role::initiator;
  mix_premessage(protocol_.pattern.initiator_premessage, initiator);
  mix_premessage(protocol_.pattern.responder_premessage, !initiator);
}

void HandshakeState::check_keys_present() const {
  const HandshakePattern& pattern = protocol_.pattern;
  const bool initiator = role_ == Role::initiator;
  const MessagePattern& own_pre = initiator ? pattern.initiator_premessage : pattern.responder_premessage;
  const MessagePattern& peer_pre = initiator ? pattern.responder_premessage : pattern.initiator_premessage;

  bool needs_static = contains(own_pre, Token::s);
  for (std::size_t i = 0; i < pattern.messages.size(); ++i) {
    const bool ours = sender_is_initiator(i) == initiator;
    for (Token token : pattern.messages[i]) {
      needs_static |= (token == Token::s && ours) || uses_own_static(token, role_);
    }
  }
  if (needs_static && !s_) throw std::invalid_argument(pattern.name + ": needs a local static key");
  if (contains(own_pre, Token::e) && !e_) {
    throw std::invalid_argument(pattern.name + ": needs a local ephemeral key");
  }
  if (contains(peer_pre, Token::s) && !remote_static_) {
    throw std::invalid_argument(pattern.name + ": needs the remote static key");
  }
  if (contains(peer_pre, Token::e) && !remote_ephemeral_) {
    throw std::invalid_argument(pattern.name + ": needs the remote ephemeral key");
  }
  if (psks_.size() != pattern.psk_count) {
    throw std::invalid_argument(pattern.name + ": needs " + std::to_string(pattern.psk_count) +
                                " pre-shared key(s)");
  }
}

void HandshakeState::mix_premessage(const MessagePattern& premessage, bool ours) {
  for (Token token : premessage) {
    if (token == Token::s) symmetric_.mix_hash(ours ? s_->public_key : *remote_static_);
    if (token == Token::e) mix_ephemeral(ours ? e_->public_key : *remote_ephemeral_);
  }
}

// "e" is MixHash(e.public_key), followed by MixKey(e.public_key) in PSK
// handshakes (§9.2), for pre-messages as for messages.
void HandshakeState::mix_ephemeral(const PublicKey& public_key) {
  symmetric_.mix_hash(public_key);
  if (protocol_.pattern.psk_mode) symmetric_.mix_key(public_key);
}

bool HandshakeState::is_write_turn() const {
  return !is_finished() && sender_is_initiator(next_message_) == (role_ == Role::initiator);
}

NoiseError HandshakeState::fail(NoiseError error) {
  failed_ = true;
  return error;
}

NoiseError HandshakeState::mix_dh(Token token) {
  const bool initiator = role_ == Role::initiator;
  const KeyPair* local = nullptr;
  const PublicKey* remote = nullptr;
  switch (token) {
    case Token::ee: local = &*e_; remote = &*remote_ephemeral_; break;
    case Token::ss: local = &*s_; remote = &*remote_static_; break;
    case Token::es:
      local = initiator ? &*e_ : &*s_;
      remote = initiator ? &*remote_static_ : &*remote_ephemeral_;
      break;
    case Token::se:
      local = initiator ? &*s_ : &*e_;
      remote = initiator ? &*remote_ephemeral_ : &*remote_static_;
      break;
    default: return NoiseError::ok;
  }
  DhOutput shared;
  if (!dh(*local, *remote, shared)) return NoiseError::invalid_dh;
  symmetric_.mix_key(shared.view());
  return NoiseError::ok;
}

NoiseError HandshakeState::write_message(ByteView payload, Bytes& message) {
  if (failed_) return NoiseError::handshake_failed;
  if (!is_write_turn()) return NoiseError::wrong_turn;
  const std::size_t start = message.size();
  for (Token token : protocol_.pattern.messages[next_message_]) {
    NoiseError error = NoiseError::ok;
    switch (token) {
      case Token::e:
        e_ = generate_ephemeral_();
        message.insert(message.end(), e_->public_key.begin(), e_->public_key.end());
        mix_ephemeral(e_->public_key);
        break;
      case Token::s: error = symmetric_.encrypt_and_hash(s_->public_key, message); break;
      case Token::psk: symmetric_.mix_key_and_hash(psks_[next_psk_++].view()); break;
      default: error = mix_dh(token); break;
    }
    if (error != NoiseError::ok) return fail(error);
  }
  if (const NoiseError error = symmetric_.encrypt_and_hash(payload, message); error != NoiseError::ok) {
    return fail(error);
  }
  if (message.size() - start > kMaxNoiseMessage) return fail(NoiseError::message_too_long);
  ++next_message_;
  return NoiseError::ok;
}

NoiseError HandshakeState::read_message(ByteView message, Bytes& payload) {
  if (failed_) return NoiseError::handshake_failed;
  if (is_finished() || is_write_turn()) return NoiseError::wrong_turn;
  if (message.size() > kMaxNoiseMessage) return fail(NoiseError::message_too_long);
  for (Token token : protocol_.pattern.messages[next_message_]) {
    NoiseError error = NoiseError::ok;
    switch (token) {
      case Token::e: {
        if (message.size() < kDhLen) return fail(NoiseError::message_too_short);
        PublicKey re{};
        std::copy_n(message.begin(), kDhLen, re.begin());
        remote_ephemeral_ = re;
        mix_ephemeral(re);
        message = message.subspan(kDhLen);
        break;
      }
      case Token::s: {
        const std::size_t length = kDhLen + (symmetric_.has_key() ? kTagLen : 0);
        if (message.size() < length) return fail(NoiseError::message_too_short);
        Bytes decrypted;
        error = symmetric_.decrypt_and_hash(message.first(length), decrypted);
        if (error == NoiseError::ok) {
          PublicKey rs{};
          std::copy_n(decrypted.begin(), kDhLen, rs.begin());
          remote_static_ = rs;
        }
        message = message.subspan(length);
        break;
      }
      case Token::psk: symmetric_.mix_key_and_hash(psks_[next_psk_++].view()); break;
      default: error = mix_dh(token); break;
    }
    if (error != NoiseError::ok) return fail(error);
  }
  if (symmetric_.has_key() && message.size() < kTagLen) return fail(NoiseError::message_too_short);
  if (const NoiseError error = symmetric_.decrypt_and_hash(message, payload); error != NoiseError::ok) {
    return fail(error);
  }
  ++next_message_;
  return NoiseError::ok;
}

TransportCiphers HandshakeState::split() const {
  auto [c1, c2] = symmetric_.split();
  return {std::move(c1), std::move(c2)};
}

}  // namespace netleash::tunnel
