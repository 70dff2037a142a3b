#include "netleashd/policy/address.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>

#include "netleashd/policy/policy_quote.h"

namespace netleash::policy {
namespace {

constexpr std::array<std::uint8_t, 12> kV4MappedPrefix = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

bool is_v4_mapped(const std::array<std::uint8_t, 16>& bytes) {
  return std::equal(kV4MappedPrefix.begin(), kV4MappedPrefix.end(), bytes.begin());
}

// `address` with every bit after the first `prefix` bits cleared.
IpAddress masked(const IpAddress& address, unsigned prefix) {
  auto bytes = address.bytes();
  for (unsigned i = 0; i < bytes.size(); ++i) {
    const unsigned first_bit = i * 8;
    if (first_bit >= prefix) {
      bytes[i] = 0;
    } else if (prefix - first_bit < 8) {
      bytes[i] = static_cast<std::uint8_t>(bytes[i] & (0xff << (8 - (prefix - first_bit))));
    }
  }
  if (address.is_v4()) return IpAddress::v4({bytes[0], bytes[1], bytes[2], bytes[3]});
  return IpAddress::v6(bytes);
}

// The longest valid textual IPv6 address is 45 characters; anything longer is
// rejected before copying into a fixed buffer for inet_pton.
constexpr std::size_t kMaxAddressText = 64;

}  // namespace

std::optional<std::uint32_t> parse_decimal(std::string_view text, std::uint32_t max) {
  if (text.empty() || text.size() > 10) return std::nullopt;
  std::uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (value > max) return std::nullopt;
  return static_cast<std::uint32_t>(value);
}

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
  if (text.empty() || text.size() >= kMaxAddressText) return std::nullopt;
  // inet_pton would stop at an embedded NUL and accept "10.0.0.1\0junk".
  if (text.find('\0') != std::string_view::npos) return std::nullopt;
  char buffer[kMaxAddressText];
  std::memcpy(buffer, text.data(), text.size());
  buffer[text.size()] = '\0';
  if (text.find(':') == std::string_view::npos) {
    std::array<std::uint8_t, 4> v4_bytes{};
    if (inet_pton(AF_INET, buffer, v4_bytes.data()) != 1) return std::nullopt;
    return v4(v4_bytes);
  }
  std::array<std::uint8_t, 16> v6_bytes{};
  if (inet_pton(AF_INET6, buffer, v6_bytes.data()) != 1) return std::nullopt;
  return v6(v6_bytes);
}

IpAddress IpAddress::v4(const std::array<std::uint8_t, 4>& bytes) {
  IpAddress address;
  address.family_ = Family::kV4;
  std::copy(bytes.begin(), bytes.end(), address.bytes_.begin());
  return address;
}

IpAddress IpAddress::v6(const std::array<std::uint8_t, 16>& bytes) {
  if (is_v4_mapped(bytes)) return v4({bytes[12], bytes[13], bytes[14], bytes[15]});
  IpAddress address;
  address.family_ = Family::kV6;
  address.bytes_ = bytes;
  return address;
}

bool IpAddress::is_unspecified() const {
  return std::all_of(bytes_.begin(), bytes_.end(), [](std::uint8_t b) { return b == 0; });
}

std::string IpAddress::to_string() const {
  char buffer[INET6_ADDRSTRLEN];
  const int family = is_v4() ? AF_INET : AF_INET6;
  if (inet_ntop(family, bytes_.data(), buffer, sizeof buffer) == nullptr) return "?";
  return buffer;
}

std::optional<Endpoint> Endpoint::parse(std::string_view text, std::string* error) {
  auto fail = [&](std::string message) -> std::optional<Endpoint> {
    if (error != nullptr) *error = std::move(message);
    return std::nullopt;
  };
  const std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return fail("expected \"address:port\"");
  std::string_view host = text.substr(0, colon);
  const std::string_view port_text = text.substr(colon + 1);
  const bool bracketed = host.size() >= 2 && host.front() == '[' && host.back() == ']';
  if (bracketed) host = host.substr(1, host.size() - 2);
  const auto address = IpAddress::parse(host);
  if (!address) return fail(quoted(host) + " is not an IP address");
  // "::1:80" is ambiguous (address ::1:80 or ::1 port 80), so IPv6 needs brackets.
  if (host.find(':') != std::string_view::npos && !bracketed) {
    return fail("write IPv6 endpoints as \"[address]:port\"");
  }
  if (bracketed && host.find(':') == std::string_view::npos) {
    return fail("brackets are only for IPv6 addresses");
  }
  const auto port = parse_decimal(port_text, 65535);
  if (!port) return fail("port " + quoted(port_text) + " is not a number 0-65535");
  return Endpoint{*address, static_cast<std::uint16_t>(*port)};
}

std::optional<Endpoint> Endpoint::from_sockaddr(const sockaddr* sa, socklen_t len) {
  if (sa == nullptr) return std::nullopt;
  if (sa->sa_family == AF_INET && len >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
    sockaddr_in in{};
    std::memcpy(&in, sa, sizeof in);
    std::array<std::uint8_t, 4> bytes{};
    std::memcpy(bytes.data(), &in.sin_addr, bytes.size());
    return Endpoint{IpAddress::v4(bytes), ntohs(in.sin_port)};
  }
  if (sa->sa_family == AF_INET6 && len >= static_cast<socklen_t>(sizeof(sockaddr_in6))) {
    sockaddr_in6 in6{};
    std::memcpy(&in6, sa, sizeof in6);
    std::array<std::uint8_t, 16> bytes{};
    std::memcpy(bytes.data(), &in6.sin6_addr, bytes.size());
    return Endpoint{IpAddress::v6(bytes), ntohs(in6.sin6_port)};
  }
  return std::nullopt;
}

socklen_t Endpoint::to_sockaddr(sockaddr_storage* out) const {
  std::memset(out, 0, sizeof *out);
  if (address.is_v4()) {
    sockaddr_in in{};
    in.sin_family = AF_INET;
    in.sin_port = htons(port);
    std::memcpy(&in.sin_addr, address.bytes().data(), 4);
    std::memcpy(out, &in, sizeof in);
    return sizeof in;
  }
  sockaddr_in6 in6{};
  in6.sin6_family = AF_INET6;
  in6.sin6_port = htons(port);
  std::memcpy(&in6.sin6_addr, address.bytes().data(), 16);
  std::memcpy(out, &in6, sizeof in6);
  return sizeof in6;
}

std::string Endpoint::to_string() const {
  const std::string host = address.to_string();
  const std::string port_text = std::to_string(port);
  return address.is_v4() ? host + ":" + port_text : "[" + host + "]:" + port_text;
}

std::optional<Cidr> Cidr::parse(std::string_view text, std::string* error) {
  auto fail = [&](std::string message) -> std::optional<Cidr> {
    if (error != nullptr) *error = std::move(message);
    return std::nullopt;
  };
  const std::size_t slash = text.find('/');
  const std::string_view address_text = text.substr(0, slash);
  auto address = IpAddress::parse(address_text);
  if (!address) return fail(quoted(address_text) + " is not an IP address");
  const bool written_as_v6 = address_text.find(':') != std::string_view::npos;
  const unsigned written_width = written_as_v6 ? 128u : 32u;
  unsigned prefix = written_width;
  if (slash != std::string_view::npos) {
    const std::string_view prefix_text = text.substr(slash + 1);
    const auto parsed = parse_decimal(prefix_text, written_width);
    if (!parsed) {
      return fail("prefix length " + quoted(prefix_text) + " is not a number 0-" +
                  std::to_string(written_width));
    }
    prefix = *parsed;
  }
  if (written_as_v6 && address->is_v4()) {
    // A v4-mapped address: as a prefix it must stay inside ::ffff:0:0/96.
    if (prefix < 96) return fail("a v4-mapped prefix must be /96 or longer");
    prefix -= 96;
  }
  Cidr cidr;
  cidr.network_ = masked(*address, prefix);
  cidr.prefix_length_ = prefix;
  if (cidr.network_ != *address) {
    return fail("host bits are set below the /" + std::to_string(prefix) + " prefix; did you mean \"" +
                cidr.to_string() + "\"?");
  }
  return cidr;
}

bool Cidr::contains(const IpAddress& address) const {
  if (address.family() != network_.family()) return false;
  const auto& a = address.bytes();
  const auto& n = network_.bytes();
  const unsigned full_bytes = prefix_length_ / 8;
  if (!std::equal(n.begin(), n.begin() + full_bytes, a.begin())) return false;
  const unsigned rest = prefix_length_ % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<std::uint8_t>(0xff << (8 - rest));
  return (a[full_bytes] & mask) == (n[full_bytes] & mask);
}

std::string Cidr::to_string() const {
  return network_.to_string() + "/" + std::to_string(prefix_length_);
}

std::optional<PortRange> PortRange::parse(std::string_view text, std::string* error) {
  auto fail = [&](std::string message) -> std::optional<PortRange> {
    if (error != nullptr) *error = std::move(message);
    return std::nullopt;
  };
  const std::size_t dash = text.find('-');
  if (dash == std::string_view::npos) {
    if (parse_decimal(text, 65535)) return fail("write a single port as a number, not a string");
    return fail("expected a port range \"lo-hi\"");
  }
  const auto lo = parse_decimal(text.substr(0, dash), 65535);
  const auto hi = parse_decimal(text.substr(dash + 1), 65535);
  if (!lo || !hi || *lo == 0 || *hi == 0) {
    return fail("expected a port range \"lo-hi\" with ports 1-65535");
  }
  if (*lo > *hi) return fail("port range " + quoted(text) + " has lo > hi");
  return PortRange{static_cast<std::uint16_t>(*lo), static_cast<std::uint16_t>(*hi)};
}

std::string PortRange::to_string() const {
  if (lo == hi) return std::to_string(lo);
  return std::to_string(lo) + "-" + std::to_string(hi);
}

}  // namespace netleash::policy
