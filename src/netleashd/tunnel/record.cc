#include "netleashd/tunnel/record.h"

#include <algorithm>

namespace netleash::tunnel {
namespace {

// Data and rekey records may use nonces up to 2^64-3 only, so that 2^64-2
// always remains for the close record; 2^64-1 is reserved by Noise (§5.1).
constexpr uint64_t kLastNonceForClose = UINT64_MAX - 1;

}  // namespace

RecordSender::RecordSender(CipherState cipher, RekeyPolicy policy)
    : cipher_(std::move(cipher)), policy_(policy) {}

TunnelError RecordSender::seal(RecordType type, ByteView body, Bytes& out) {
  if (type != RecordType::close && cipher_.nonce() >= kLastNonceForClose) {
    return TunnelError::nonce_exhausted;
  }
  plaintext_.assign(1, static_cast<uint8_t>(type));
  plaintext_.insert(plaintext_.end(), body.begin(), body.end());

  // Encrypt straight into `out` behind a header patched afterwards.
  const std::size_t start = out.size();
  out.resize(start + kFrameHeaderLen);
  if (cipher_.encrypt_with_ad({}, plaintext_, out) != NoiseError::ok) {
    out.resize(start);
    return TunnelError::nonce_exhausted;
  }
  const std::size_t length = out.size() - start - kFrameHeaderLen;
  out[start] = static_cast<uint8_t>(length >> 8);
  out[start + 1] = static_cast<uint8_t>(length & 0xff);
  ++records_under_key_;
  bytes_under_key_ += length;
  return TunnelError::ok;
}

TunnelError RecordSender::send_rekey(Bytes& out) {
  if (const TunnelError e = seal(RecordType::rekey, {}, out); e != TunnelError::ok) return e;
  // The rekey record itself went out under the old key; everything after it
  // uses the new one. n carries on (§11.3).
  (void)cipher_.rekey();  // cannot fail: the sender's CipherState has a key
  records_under_key_ = 0;
  bytes_under_key_ = 0;
  return TunnelError::ok;
}

TunnelError RecordSender::send_data(ByteView data, Bytes& out) {
  if (closed_) return TunnelError::closed;
  while (!data.empty()) {
    if (records_under_key_ >= policy_.max_records || bytes_under_key_ >= policy_.max_bytes) {
      if (const TunnelError e = send_rekey(out); e != TunnelError::ok) return e;
    }
    const ByteView chunk = data.first(std::min(data.size(), kMaxRecordData));
    if (const TunnelError e = seal(RecordType::data, chunk, out); e != TunnelError::ok) return e;
    data = data.subspan(chunk.size());
  }
  return TunnelError::ok;
}

TunnelError RecordSender::rekey_now(Bytes& out) {
  if (closed_) return TunnelError::closed;
  return send_rekey(out);
}

TunnelError RecordSender::send_close(Bytes& out) {
  if (closed_) return TunnelError::closed;
  if (const TunnelError e = seal(RecordType::close, {}, out); e != TunnelError::ok) return e;
  closed_ = true;
  return TunnelError::ok;
}

TunnelError RecordReceiver::feed(ByteView input, Bytes& data) {
  while (error_ == TunnelError::ok && !input.empty()) {
    if (close_received_) {
      error_ = TunnelError::data_after_close;
      break;
    }
    input = input.subspan(frames_.consume(input));
    if (frames_.malformed()) {
      error_ = TunnelError::bad_frame;
    } else if (frames_.has_frame()) {
      error_ = open_record(frames_.frame(), data);
      frames_.next();
    }
  }
  return error_;
}

TunnelError RecordReceiver::open_record(ByteView frame, Bytes& data) {
  plaintext_.clear();
  switch (cipher_.decrypt_with_ad({}, frame, plaintext_)) {
    case NoiseError::ok: break;
    case NoiseError::nonce_exhausted: return TunnelError::nonce_exhausted;
    default: return TunnelError::decrypt_failed;
  }
  if (plaintext_.empty()) return TunnelError::bad_record;
  const ByteView body = ByteView(plaintext_).subspan(1);
  switch (static_cast<RecordType>(plaintext_[0])) {
    case RecordType::data:
      data.insert(data.end(), body.begin(), body.end());
      return TunnelError::ok;
    case RecordType::close:
      if (!body.empty()) return TunnelError::bad_record;
      close_received_ = true;
      return TunnelError::ok;
    case RecordType::rekey:
      if (!body.empty()) return TunnelError::bad_record;
      (void)cipher_.rekey();  // cannot fail: the receiver's CipherState has a key
      return TunnelError::ok;
  }
  return TunnelError::bad_record;  // unknown types are refused, not skipped
}

TunnelError RecordReceiver::finish() const {
  if (error_ != TunnelError::ok) return error_;
  return close_received_ && frames_.at_boundary() ? TunnelError::ok : TunnelError::truncated;
}

}  // namespace netleash::tunnel
