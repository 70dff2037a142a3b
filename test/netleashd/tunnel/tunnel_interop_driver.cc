// A tunnel endpoint on stdin/stdout for the dissononce interop test:
//
//   tunnel_interop_driver genkey FILE
//   tunnel_interop_driver respond|initiate KEYFILE PEER_PUBLIC_KEY [REKEY_RECORDS]
//
// Runs the tunnel protocol over stdin/stdout and echoes every data byte it
// receives. When the peer's close record arrives it sends its own and exits 0.
// Any protocol error: message on stderr, exit 1. EOF without close: exit 2.
#include "netleashd/tunnel/keyfile.h"
#include "netleashd/tunnel/tunnel_connection.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>

using namespace netleash::tunnel;

namespace {

bool write_all(ByteView bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(STDOUT_FILENO, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    bytes = bytes.subspan(static_cast<std::size_t>(n));
  }
  return true;
}

int fail(TunnelError error) {
  std::fprintf(stderr, "tunnel_interop_driver: %s\n", std::string(to_string(error)).c_str());
  return 1;
}

int run(TunnelConnection connection) {
  Bytes buffer(65536);
  while (true) {
    if (!write_all(connection.take_outgoing())) return 1;
    if (connection.peer_closed()) break;
    const ssize_t n = ::read(STDIN_FILENO, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return 1;
    if (n == 0) {
      const TunnelError error = connection.end_of_stream();
      fail(error);
      return error == TunnelError::truncated ? 2 : 1;
    }
    Bytes data;
    TunnelError error = connection.feed(ByteView(buffer).first(static_cast<std::size_t>(n)), data);
    if (error == TunnelError::ok && !data.empty()) error = connection.send(data);
    if (error != TunnelError::ok) return fail(error);
  }
  if (const TunnelError error = connection.close(); error != TunnelError::ok) return fail(error);
  return write_all(connection.take_outgoing()) ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  try {
    if (mode == "genkey" && argc == 3) {
      std::printf("%s\n", generate_key_file(argv[2]).c_str());
      return 0;
    }
    if ((mode == "respond" || mode == "initiate") && (argc == 4 || argc == 5)) {
      const KeyPair local = load_key_file(argv[2]);
      const auto peer = public_key_from_base64(argv[3]);
      if (!peer) {
        std::fprintf(stderr, "tunnel_interop_driver: bad peer public key\n");
        return 1;
      }
      TunnelOptions options;
      if (argc == 5) options.rekey.max_records = std::strtoull(argv[4], nullptr, 10);
      if (mode == "initiate") {
        TimestampSource clock;
        return run(TunnelConnection::initiator(local, *peer, clock.next(), options));
      }
      ReplayGuard guard;
      guard.add_peer(*peer);
      return run(TunnelConnection::responder(local, guard, options));
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tunnel_interop_driver: %s\n", e.what());
    return 1;
  }
  std::fprintf(stderr,
               "usage: tunnel_interop_driver genkey FILE\n"
               "       tunnel_interop_driver respond|initiate KEYFILE PEER_PUBLIC_KEY [REKEY_RECORDS]\n");
  return 2;
}
