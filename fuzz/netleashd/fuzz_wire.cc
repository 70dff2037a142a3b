// libFuzzer target for netleashd's wire-protocol decoding: every byte string
// is tried as a stream Request, a seqpacket Request packet and a UDP
// association packet, exactly as src/netleashd/intake/pending.cc and
// udp_association.cc decode them. Nothing may crash, read out of bounds or
// hit undefined behaviour, and accepted input must satisfy the invariants
// the rest of the daemon relies on.
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "netleashd/intake/wire_check.h"

using namespace netleash;

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

void fuzz_request(const uint8_t* data, size_t size) {
  wire::Request request{};
  std::memcpy(&request, data, size < sizeof request ? size : sizeof request);
  for (const auto channel : {netleashd::Channel::kStream, netleashd::Channel::kSeqpacket}) {
    if (netleashd::validate_request(request, channel) != nullptr) continue;
    check(request.length >= sizeof request && request.length <= wire::kMaxRequestLength);
    const auto op = static_cast<wire::Op>(request.op);
    if (op == wire::Op::kResolve) check(std::memchr(request.name, 0, sizeof request.name));
    if (op == wire::Op::kConnect || op == wire::Op::kCheck) {
      const wire::Address address = netleashd::normalize_address(request.addr);
      sockaddr_storage storage{};
      socklen_t length = 0;
      check(netleashd::to_sockaddr(address, &storage, &length));
      check(!netleashd::format_endpoint(address).empty());
    }
    if (channel == netleashd::Channel::kSeqpacket) netleashd::check_request_packet(request, size);
  }
}

void fuzz_datagram(const uint8_t* data, size_t size) {
  wire::Address default_peer{};
  if (size > 0 && (data[0] & 1)) {
    default_peer.family = AF_INET6;
    default_peer.addr[15] = 1;
  }
  wire::Address destination{};
  if (netleashd::decode_datagram(data, size, default_peer, &destination) == nullptr) {
    check(destination.family == AF_INET || destination.family == AF_INET6);
    check(size - sizeof(wire::DatagramHeader) <= wire::kMaxDatagram);
    netleashd::format_endpoint(destination);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz_request(data, size);
  fuzz_datagram(data, size);
  return 0;
}
