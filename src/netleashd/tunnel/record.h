// The tunnel's record layer (docs/tunnel.md "Transport records"): after the
// handshake every frame is one Noise transport message whose plaintext is a
// one-byte record type followed by the record body.
//
//   data  (0x01): application bytes, 0..65518 of them
//   close (0x02): empty; the sender will send nothing more. A stream that ends
//                 without it was truncated (Noise spec rev 34 §13, §14).
//   rekey (0x03): empty; the sender calls Rekey() on its sending CipherState
//                 right after it, the receiver on its receiving one (§11.3).
#pragma once

#include "netleashd/tunnel/frame.h"
#include "netleashd/noise/noise_cipher_state.h"
#include "netleashd/tunnel/tunnel_error.h"

#include <cstdint>

namespace netleash::tunnel {

enum class RecordType : uint8_t { data = 0x01, close = 0x02, rekey = 0x03 };

// Largest data record body: 65535-byte Noise message - 16-byte tag - type byte.
inline constexpr std::size_t kMaxRecordData = kMaxNoiseMessage - kTagLen - 1;

// When the sender rekeys on its own: after this many records or ciphertext
// bytes under one key, whichever comes first. Rekey() limits how much past
// traffic a stolen transport key exposes; a timer can add rekey_now() calls.
struct RekeyPolicy {
  uint64_t max_records = uint64_t{1} << 20;
  uint64_t max_bytes = uint64_t{1} << 30;
};

class RecordSender {
 public:
  explicit RecordSender(CipherState cipher, RekeyPolicy policy = {});

  // Appends framed data records carrying `data` (split into records of at
  // most kMaxRecordData bytes, a rekey record first when the policy says so).
  // Errors: closed after send_close(); nonce_exhausted, where the records
  // sealed before it stay in `out`, the rest of `data` is not sent, and only
  // send_close() still works.
  [[nodiscard]] TunnelError send_data(ByteView data, Bytes& out);
  // Appends a rekey record and switches to the next key.
  [[nodiscard]] TunnelError rekey_now(Bytes& out);
  // Appends the close record. Always possible once: the last nonce before
  // the reserved 2^64-1 is kept for it.
  [[nodiscard]] TunnelError send_close(Bytes& out);

  [[nodiscard]] uint64_t nonce() const { return cipher_.nonce(); }

 private:
  [[nodiscard]] TunnelError seal(RecordType type, ByteView body, Bytes& out);
  [[nodiscard]] TunnelError send_rekey(Bytes& out);

  CipherState cipher_;
  RekeyPolicy policy_;
  uint64_t records_under_key_ = 0;
  uint64_t bytes_under_key_ = 0;
  Bytes plaintext_;
  bool closed_ = false;
};

class RecordReceiver {
 public:
  explicit RecordReceiver(CipherState cipher) : cipher_(std::move(cipher)) {}

  // Feeds stream bytes in chunks of any size; appends the bodies of data
  // records to `data`. Memory stays bounded by one frame.
  [[nodiscard]] TunnelError feed(ByteView input, Bytes& data);
  // To call at end of stream: ok only if the close record arrived.
  [[nodiscard]] TunnelError finish() const;

  [[nodiscard]] bool close_received() const { return close_received_; }

 private:
  [[nodiscard]] TunnelError open_record(ByteView frame, Bytes& data);

  CipherState cipher_;
  FrameReader frames_;
  Bytes plaintext_;
  bool close_received_ = false;
  TunnelError error_ = TunnelError::ok;
};

}  // namespace netleash::tunnel
