// The daemon-level messages inside an established tunnel (docs/tunnel.md,
// "Destination request and result"): the initiator's first data bytes name
// the destination, the responder's first data bytes answer with 0 or an
// errno. Pure functions, so the unit tests and fuzzers drive them directly.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "netleashd/policy/address.h"
#include "netleashd/noise/secure_bytes.h"

namespace netleash::netleashd {

inline constexpr uint8_t kLinkVersion = 1;
inline constexpr uint8_t kLinkProtocolTcp = 6;
inline constexpr size_t kLinkRequestFixed = 22;  // version .. address
inline constexpr size_t kLinkResultSize = 4;

struct LinkRequest {
  policy::Endpoint destination;
  std::string app;  // the calling app's id on the initiator's host (for the audit), <= 255 bytes
};

tunnel::Bytes encode_link_request(const LinkRequest& request);

// Parses a request from the start of `data`. Returns the request and sets
// *consumed, or nullopt with *error set when malformed, or nullopt with an
// empty *error when more bytes are needed.
std::optional<LinkRequest> decode_link_request(tunnel::ByteView data, size_t* consumed,
                                               std::string* error);

// errno 0: connected. Anything else: the connect failed with that errno.
tunnel::Bytes encode_link_result(int error);
// The errno of a complete 4-byte result, or nullopt when malformed (wrong
// version, or an errno outside 0..4095).
std::optional<int> decode_link_result(tunnel::ByteView data);

}  // namespace netleash::netleashd
