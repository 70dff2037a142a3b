// IP addresses, CIDR prefixes, ports and endpoints as the policy engine sees them.
//
// Deliberately free of nlohmann/json and libuv so that it could move to
// src/common/ if the shim ever needs textual address parsing.
//
// v4-mapped IPv6 addresses (::ffff:a.b.c.d) never exist in an IpAddress: every
// constructor folds them to plain IPv4, so an application cannot sidestep an
// IPv4 rule (or match an IPv6 one) by writing the same destination differently.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <sys/socket.h>

namespace netleash::policy {

class IpAddress {
 public:
  enum class Family : std::uint8_t { kV4, kV6 };

  // 0.0.0.0
  IpAddress() = default;

  // Strict forms only: dotted quad ("10.0.0.1", no octal or short forms) or
  // RFC 4291 text ("::1", "::ffff:10.0.0.1"); no brackets, no zone ids.
  static std::optional<IpAddress> parse(std::string_view text);
  static IpAddress v4(const std::array<std::uint8_t, 4>& bytes);
  static IpAddress v6(const std::array<std::uint8_t, 16>& bytes);  // folds v4-mapped

  Family family() const { return family_; }
  bool is_v4() const { return family_ == Family::kV4; }
  unsigned bit_width() const { return is_v4() ? 32u : 128u; }
  // Network byte order; 4 meaningful bytes for IPv4 (the rest are zero).
  const std::array<std::uint8_t, 16>& bytes() const { return bytes_; }
  // 0.0.0.0 or ::, the "any address" of bind().
  bool is_unspecified() const;
  std::string to_string() const;

  friend auto operator<=>(const IpAddress&, const IpAddress&) = default;

 private:
  Family family_ = Family::kV4;
  std::array<std::uint8_t, 16> bytes_{};
};

struct Endpoint {
  IpAddress address;
  std::uint16_t port = 0;

  // "10.0.0.1:80" or "[::1]:80"; port 0-65535. IPv6 needs the brackets.
  static std::optional<Endpoint> parse(std::string_view text, std::string* error = nullptr);
  // AF_INET / AF_INET6 only; nullopt for anything else or a short length.
  static std::optional<Endpoint> from_sockaddr(const sockaddr* sa, socklen_t len);
  // Fills `out` with an AF_INET or AF_INET6 sockaddr; returns its length.
  socklen_t to_sockaddr(sockaddr_storage* out) const;
  std::string to_string() const;

  friend auto operator<=>(const Endpoint&, const Endpoint&) = default;
};

// An address prefix. Host bits below the prefix are always zero (parse()
// rejects "10.0.0.1/8" rather than guessing what was meant).
class Cidr {
 public:
  // "10.0.0.0/8", "2001:db8::/32", or a bare address (= /32 or /128).
  // "::ffff:10.0.0.0/104" is folded to "10.0.0.0/8".
  static std::optional<Cidr> parse(std::string_view text, std::string* error = nullptr);

  const IpAddress& network() const { return network_; }
  unsigned prefix_length() const { return prefix_length_; }
  // Never true across families: an IPv6 prefix, even ::/0, does not cover IPv4.
  bool contains(const IpAddress& address) const;
  std::string to_string() const;

  friend bool operator==(const Cidr&, const Cidr&) = default;

 private:
  IpAddress network_;
  unsigned prefix_length_ = 0;
};

// An inclusive port range; a single port is lo == hi.
struct PortRange {
  std::uint16_t lo = 0;
  std::uint16_t hi = 0;

  // "lo-hi" with decimal ports 1-65535 and lo <= hi.
  static std::optional<PortRange> parse(std::string_view text, std::string* error = nullptr);
  bool contains(std::uint16_t port) const { return lo <= port && port <= hi; }
  std::string to_string() const;

  friend bool operator==(const PortRange&, const PortRange&) = default;
};

// Decimal digits only (no sign, no spaces), value <= max.
std::optional<std::uint32_t> parse_decimal(std::string_view text, std::uint32_t max);

}  // namespace netleash::policy
