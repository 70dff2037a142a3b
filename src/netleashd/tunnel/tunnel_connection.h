// One encrypted daemon-to-daemon connection, as a bytes-in/bytes-out state
// machine with no I/O of its own (the daemon's libuv loop does the I/O):
// feed() what the socket delivered, write take_outgoing() to the socket.
//
// Handshake: Noise_IK_25519_ChaChaPoly_BLAKE2b with the prologue
// "netleash tunnel v1"; the first message carries a TAI64N timestamp that the
// responder checks with its ReplayGuard. Then transport records (record.h).
// docs/tunnel.md has the byte-level wire format.
#pragma once

#include "netleashd/noise/noise_handshake_state.h"
#include "netleashd/tunnel/record.h"
#include "netleashd/tunnel/replay_guard.h"
#include "netleashd/tunnel/tai64n.h"

#include <optional>
#include <string_view>
#include <utility>

namespace netleash::tunnel {

inline constexpr std::string_view kTunnelProtocolName = "Noise_IK_25519_ChaChaPoly_BLAKE2b";
inline constexpr std::string_view kTunnelPrologue = "netleash tunnel v1";
// -> e, es, s, ss + encrypted timestamp: 32 + (32 + 16) + (12 + 16) bytes.
inline constexpr std::size_t kFirstMessageLen = kDhLen + kDhLen + kTagLen + kTai64nLen + kTagLen;
// <- e, ee, se + encrypted empty payload: 32 + 16 bytes.
inline constexpr std::size_t kReplyMessageLen = kDhLen + kTagLen;

// kTunnelPrologue as bytes. (Copied from data() with copy_n: clang 14 with
// ASan at -O2 can resolve begin() and end() of an inline constexpr
// string_view to two different copies of the literal.)
[[nodiscard]] Bytes tunnel_prologue();

struct TunnelOptions {
  RekeyPolicy rekey;
};

class TunnelConnection {
 public:
  // The dialling daemon. `timestamp` comes from the process's TimestampSource.
  // The first handshake message is in take_outgoing() right away.
  [[nodiscard]] static TunnelConnection initiator(const KeyPair& local_static,
                                                  const PublicKey& peer_static,
                                                  const Tai64n& timestamp,
                                                  TunnelOptions options = {});
  // The listening daemon. `guard` (which outlives the connection) holds the
  // configured peers and their last timestamps, shared by all connections.
  [[nodiscard]] static TunnelConnection responder(const KeyPair& local_static, ReplayGuard& guard,
                                                  TunnelOptions options = {});

  // Feeds bytes read from the socket, in chunks of any size. Appends received
  // application data to `data`. Any error is final: close the socket.
  [[nodiscard]] TunnelError feed(ByteView input, Bytes& data);
  // Queues application data as data records (only once established()).
  [[nodiscard]] TunnelError send(ByteView data);
  [[nodiscard]] TunnelError rekey_now();
  // Queues the close record; send() is refused afterwards.
  [[nodiscard]] TunnelError close();
  // At EOF from the socket: ok only if the peer's close record arrived.
  [[nodiscard]] TunnelError end_of_stream() const;

  // Bytes to write to the socket, in order; the buffer is handed over.
  [[nodiscard]] Bytes take_outgoing() { return std::exchange(outgoing_, {}); }
  [[nodiscard]] std::size_t outgoing_size() const { return outgoing_.size(); }

  [[nodiscard]] bool established() const { return sender_.has_value(); }
  [[nodiscard]] bool peer_closed() const { return receiver_ && receiver_->close_received(); }
  // The peer's static key: the configured one (initiator), or the one the
  // initiator proved (responder, once established()).
  [[nodiscard]] const PublicKey& peer() const { return peer_; }
  // h after the handshake, for channel binding (Noise spec rev 34 §11.2).
  [[nodiscard]] ByteView handshake_hash() const { return handshake_hash_; }

 private:
  TunnelConnection(HandshakeState handshake, ReplayGuard* guard, TunnelOptions options);
  [[nodiscard]] TunnelError read_first_message(ByteView message);
  [[nodiscard]] TunnelError read_reply(ByteView message);
  void start_transport();
  [[nodiscard]] TunnelError fail(TunnelError error);

  std::optional<HandshakeState> handshake_;
  ReplayGuard* guard_;
  TunnelOptions options_;
  FrameReader handshake_frames_;
  std::optional<RecordSender> sender_;
  std::optional<RecordReceiver> receiver_;
  Bytes outgoing_;
  PublicKey peer_{};
  Bytes handshake_hash_;
  TunnelError error_ = TunnelError::ok;
};

}  // namespace netleash::tunnel
