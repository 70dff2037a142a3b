#include "netleashd/tunnel/tunnel_connection.h"

#include <algorithm>

namespace netleash::tunnel {
Bytes tunnel_prologue() {
  Bytes prologue(kTunnelPrologue.size());
  std::copy_n(kTunnelPrologue.data(), prologue.size(), prologue.begin());
  return prologue;
}

namespace {

HandshakeConfig tunnel_config(Role role, const KeyPair& local_static) {
  HandshakeConfig config;
  config.protocol_name = std::string(kTunnelProtocolName);
  config.role = role;
  config.prologue = tunnel_prologue();
  config.local_static = local_static;
  return config;
}

}  // namespace

TunnelConnection::TunnelConnection(HandshakeState handshake, ReplayGuard* guard,
                                   TunnelOptions options)
    : handshake_(std::move(handshake)), guard_(guard), options_(options) {}

TunnelConnection TunnelConnection::initiator(const KeyPair& local_static,
                                             const PublicKey& peer_static,
                                             const Tai64n& timestamp, TunnelOptions options) {
  HandshakeConfig config = tunnel_config(Role::initiator, local_static);
  config.remote_static = peer_static;
  TunnelConnection connection(HandshakeState(std::move(config)), nullptr, options);
  connection.peer_ = peer_static;
  Bytes message;
  if (connection.handshake_->write_message(timestamp.bytes, message) != NoiseError::ok) {
    // Only an all-zero DH with the configured peer key gets here.
    connection.error_ = TunnelError::handshake_failed;
    return connection;
  }
  append_frame(connection.outgoing_, message);
  return connection;
}

TunnelConnection TunnelConnection::responder(const KeyPair& local_static, ReplayGuard& guard,
                                             TunnelOptions options) {
  return TunnelConnection(HandshakeState(tunnel_config(Role::responder, local_static)), &guard,
                          options);
}

TunnelError TunnelConnection::fail(TunnelError error) {
  error_ = error;
  handshake_.reset();
  return error;
}

TunnelError TunnelConnection::feed(ByteView input, Bytes& data) {
  if (error_ != TunnelError::ok) return error_;
  if (handshake_) {
    input = input.subspan(handshake_frames_.consume(input));
    if (handshake_frames_.malformed()) return fail(TunnelError::bad_frame);
    if (!handshake_frames_.has_frame()) return TunnelError::ok;
    const ByteView message = handshake_frames_.frame();
    const TunnelError error = handshake_->role() == Role::responder ? read_first_message(message)
                                                                     : read_reply(message);
    handshake_frames_.next();
    if (error != TunnelError::ok) return fail(error);
    start_transport();
  }
  if (input.empty()) return TunnelError::ok;
  if (const TunnelError error = receiver_->feed(input, data); error != TunnelError::ok) {
    return fail(error);
  }
  return TunnelError::ok;
}

TunnelError TunnelConnection::read_first_message(ByteView message) {
  // The size is fixed; checking it first keeps garbage away from the DH work.
  if (message.size() != kFirstMessageLen) return TunnelError::bad_handshake;
  Bytes payload;
  if (handshake_->read_message(message, payload) != NoiseError::ok) {
    return TunnelError::handshake_failed;
  }
  // The payload decrypted, so the initiator holds the private key of the
  // static key it sent. Check that key against the peers before looking at
  // what it sent.
  peer_ = *handshake_->remote_static();
  if (!guard_->knows(peer_)) return TunnelError::unknown_peer;
  const std::optional<Tai64n> timestamp = parse_tai64n(payload);
  if (!timestamp) return TunnelError::bad_handshake;
  switch (guard_->check_and_record(peer_, *timestamp)) {
    case ReplayGuard::Verdict::accept: break;
    case ReplayGuard::Verdict::unknown_peer: return TunnelError::unknown_peer;
    case ReplayGuard::Verdict::replayed: return TunnelError::replayed_handshake;
  }
  Bytes reply;
  if (handshake_->write_message({}, reply) != NoiseError::ok) return TunnelError::handshake_failed;
  append_frame(outgoing_, reply);
  return TunnelError::ok;
}

TunnelError TunnelConnection::read_reply(ByteView message) {
  if (message.size() != kReplyMessageLen) return TunnelError::bad_handshake;
  Bytes payload;
  if (handshake_->read_message(message, payload) != NoiseError::ok) {
    return TunnelError::handshake_failed;
  }
  return TunnelError::ok;  // the size check leaves an empty payload
}

void TunnelConnection::start_transport() {
  TransportCiphers ciphers = handshake_->split();
  const bool initiator = handshake_->role() == Role::initiator;
  sender_.emplace(initiator ? std::move(ciphers.initiator_to_responder)
                            : std::move(ciphers.responder_to_initiator),
                  options_.rekey);
  receiver_.emplace(initiator ? std::move(ciphers.responder_to_initiator)
                              : std::move(ciphers.initiator_to_responder));
  const ByteView hash = handshake_->handshake_hash();
  handshake_hash_.assign(hash.begin(), hash.end());
  handshake_.reset();  // wipes e, s and ck (§5: keep only h)
}

TunnelError TunnelConnection::send(ByteView data) {
  if (error_ != TunnelError::ok) return error_;
  if (!sender_) return TunnelError::not_established;
  // nonce_exhausted leaves the connection able to close(); see RecordSender.
  return sender_->send_data(data, outgoing_);
}

TunnelError TunnelConnection::rekey_now() {
  if (error_ != TunnelError::ok) return error_;
  if (!sender_) return TunnelError::not_established;
  return sender_->rekey_now(outgoing_);
}

TunnelError TunnelConnection::close() {
  if (error_ != TunnelError::ok) return error_;
  if (!sender_) return TunnelError::not_established;
  return sender_->send_close(outgoing_);
}

TunnelError TunnelConnection::end_of_stream() const {
  if (error_ != TunnelError::ok) return error_;
  if (!receiver_) return TunnelError::truncated;
  return receiver_->finish();
}

}  // namespace netleash::tunnel
