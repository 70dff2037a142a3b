#include "netleashd/tunnel/tunnel_protocol.h"

#include <algorithm>

namespace netleash::netleashd {
namespace {

constexpr uint8_t kFamilyV4 = 4;
constexpr uint8_t kFamilyV6 = 6;
constexpr int kMaxErrno = 4095;  // Linux errno values are below 4096

}  // namespace

tunnel::Bytes encode_link_request(const LinkRequest& request) {
  const size_t app_length = std::min<size_t>(request.app.size(), 255);
  tunnel::Bytes out(kLinkRequestFixed + app_length, 0);
  const policy::IpAddress& ip = request.destination.address;
  out[0] = kLinkVersion;
  out[1] = kLinkProtocolTcp;
  out[2] = ip.is_v4() ? kFamilyV4 : kFamilyV6;
  out[3] = static_cast<uint8_t>(app_length);
  out[4] = static_cast<uint8_t>(request.destination.port >> 8);
  out[5] = static_cast<uint8_t>(request.destination.port);
  std::copy_n(ip.bytes().begin(), ip.is_v4() ? 4 : 16, out.begin() + 6);
  std::copy_n(request.app.begin(), app_length, out.begin() + kLinkRequestFixed);
  return out;
}

std::optional<LinkRequest> decode_link_request(tunnel::ByteView data, size_t* consumed,
                                               std::string* error) {
  error->clear();
  if (data.size() < kLinkRequestFixed) return std::nullopt;
  if (data[0] != kLinkVersion) {
    *error = "unknown request version " + std::to_string(data[0]);
    return std::nullopt;
  }
  if (data[1] != kLinkProtocolTcp) {
    *error = "unsupported protocol " + std::to_string(data[1]);
    return std::nullopt;
  }
  const uint8_t family = data[2];
  if (family != kFamilyV4 && family != kFamilyV6) {
    *error = "unknown address family " + std::to_string(family);
    return std::nullopt;
  }
  const size_t app_length = data[3];
  if (data.size() < kLinkRequestFixed + app_length) return std::nullopt;
  // The unused bytes of an IPv4 address must be zero: one request, one encoding.
  if (family == kFamilyV4 && !std::all_of(data.begin() + 10, data.begin() + 22,
                                          [](uint8_t b) { return b == 0; })) {
    *error = "IPv4 address with non-zero padding";
    return std::nullopt;
  }
  LinkRequest request;
  if (family == kFamilyV4) {
    std::array<uint8_t, 4> bytes{};
    std::copy_n(data.begin() + 6, 4, bytes.begin());
    request.destination.address = policy::IpAddress::v4(bytes);
  } else {
    std::array<uint8_t, 16> bytes{};
    std::copy_n(data.begin() + 6, 16, bytes.begin());
    request.destination.address = policy::IpAddress::v6(bytes);
  }
  request.destination.port = static_cast<uint16_t>(data[4] << 8 | data[5]);
  request.app.assign(data.begin() + kLinkRequestFixed,
                     data.begin() + static_cast<std::ptrdiff_t>(kLinkRequestFixed + app_length));
  if (request.app.find('\0') != std::string::npos) {
    *error = "app id with a NUL byte";
    return std::nullopt;
  }
  *consumed = kLinkRequestFixed + app_length;
  return request;
}

tunnel::Bytes encode_link_result(int error) {
  const auto value = static_cast<uint16_t>(std::clamp(error, 0, kMaxErrno));
  return {kLinkVersion, 0, static_cast<uint8_t>(value >> 8), static_cast<uint8_t>(value)};
}

std::optional<int> decode_link_result(tunnel::ByteView data) {
  if (data.size() != kLinkResultSize || data[0] != kLinkVersion || data[1] != 0)
    return std::nullopt;
  const int error = data[2] << 8 | data[3];
  if (error > kMaxErrno) return std::nullopt;
  return error;
}

}  // namespace netleash::netleashd
