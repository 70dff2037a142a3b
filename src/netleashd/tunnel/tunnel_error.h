// Errors of the tunnel protocol (docs/tunnel.md "Error handling"). Every error
// is final for the connection: the caller closes the TCP connection without
// sending anything more, so no error tells an attacker which check failed.
#pragma once

#include <string_view>

namespace netleash::tunnel {

enum class TunnelError {
  ok,
  bad_frame,           // a zero-length frame
  bad_handshake,       // handshake message of the wrong size, or a bad payload
  handshake_failed,    // Noise rejected the handshake message (wrong key, tampered)
  unknown_peer,        // the initiator's static key is not a configured peer
  replayed_handshake,  // first-message timestamp not newer than the last one from that peer
  decrypt_failed,      // a transport record failed authentication
  bad_record,          // unknown record type, or a close/rekey record with a body
  nonce_exhausted,     // no nonce left for this record (§5.1; one is kept for close)
  data_after_close,    // bytes after the peer's close record
  truncated,           // the stream ended without a close record
  not_established,     // data offered before the handshake finished
  closed,              // data offered after our own close record
  failed,              // an earlier error already ended this connection
};

[[nodiscard]] constexpr std::string_view to_string(TunnelError e) {
  switch (e) {
    case TunnelError::ok: return "ok";
    case TunnelError::bad_frame: return "malformed frame";
    case TunnelError::bad_handshake: return "malformed handshake message";
    case TunnelError::handshake_failed: return "handshake failed (wrong key or tampered message)";
    case TunnelError::unknown_peer: return "initiator is not a configured peer";
    case TunnelError::replayed_handshake: return "replayed or stale handshake (timestamp not newer)";
    case TunnelError::decrypt_failed: return "record failed authentication";
    case TunnelError::bad_record: return "malformed record";
    case TunnelError::nonce_exhausted: return "nonce space exhausted";
    case TunnelError::data_after_close: return "data after close record";
    case TunnelError::truncated: return "stream truncated (no close record)";
    case TunnelError::not_established: return "tunnel not established yet";
    case TunnelError::closed: return "tunnel already closed by us";
    case TunnelError::failed: return "tunnel already failed";
  }
  return "unknown error";
}

}  // namespace netleash::tunnel
