#include <catch2/catch.hpp>

#include "netleashd/policy/resolution_cache.h"

using netleash::policy::IpAddress;
using netleash::policy::ResolutionCache;
using Names = std::vector<std::string>;

namespace {

IpAddress ip(const char* text) {
  auto parsed = IpAddress::parse(text);
  REQUIRE(parsed);
  return *parsed;
}

IpAddress nth_address(std::uint32_t n) {
  return IpAddress::v4({10, static_cast<std::uint8_t>(n >> 16), static_cast<std::uint8_t>(n >> 8),
                        static_cast<std::uint8_t>(n)});
}

}  // namespace

TEST_CASE("names are remembered per app and address until they expire", "[cache]") {
  ResolutionCache cache;
  cache.record("curl", ip("93.184.216.34"), "Example.COM.", 60, 1000);
  CHECK(cache.names("curl", ip("93.184.216.34"), 1000) == Names{"example.com"});
  CHECK(cache.names("curl", ip("93.184.216.34"), 1059) == Names{"example.com"});
  CHECK(cache.names("curl", ip("93.184.216.35"), 1000).empty());
  CHECK(cache.names("wget", ip("93.184.216.34"), 1000).empty());
  // Valid while now < recorded + ttl.
  CHECK(cache.names("curl", ip("93.184.216.34"), 1060).empty());
  CHECK(cache.address_count("curl") == 0);
}

TEST_CASE("v4-mapped lookups find IPv4 records", "[cache]") {
  ResolutionCache cache;
  cache.record("a", ip("10.0.0.1"), "db", 10, 0);
  CHECK(cache.names("a", ip("::ffff:10.0.0.1"), 5) == Names{"db"});
}

TEST_CASE("several names per address, most recent first, each with its own expiry", "[cache]") {
  ResolutionCache cache;
  const IpAddress cdn = ip("2001:db8::80");
  cache.record("a", cdn, "one.example", 100, 0);
  cache.record("a", cdn, "two.example", 10, 0);
  CHECK(cache.names("a", cdn, 5) == Names{"two.example", "one.example"});
  CHECK(cache.names("a", cdn, 50) == Names{"one.example"});
  // Recording again moves a name to the front and never shortens its life.
  cache.record("a", cdn, "three.example", 100, 60);
  cache.record("a", cdn, "one.example", 1, 60);
  CHECK(cache.names("a", cdn, 61) == Names{"one.example", "three.example"});
  CHECK(cache.names("a", cdn, 99) == Names{"one.example", "three.example"});
  CHECK(cache.names("a", cdn, 100) == Names{"three.example"});
}

TEST_CASE("ttl 0 records nothing usable; huge ttls do not overflow", "[cache]") {
  ResolutionCache cache;
  cache.record("a", ip("10.0.0.1"), "x", 0, 100);
  CHECK(cache.names("a", ip("10.0.0.1"), 100).empty());
  cache.record("a", ip("10.0.0.2"), "y", UINT64_MAX, 100);
  CHECK(cache.names("a", ip("10.0.0.2"), UINT64_MAX - 1) == Names{"y"});
}

TEST_CASE("addresses per app are bounded, least recently used goes first", "[cache]") {
  ResolutionCache cache(ResolutionCache::Limits{3, 16});
  cache.record("a", nth_address(1), "one", 100, 0);
  cache.record("a", nth_address(2), "two", 100, 0);
  cache.record("a", nth_address(3), "three", 100, 0);
  // A lookup counts as use: address 1 is now the most recent.
  CHECK(cache.names("a", nth_address(1), 1) == Names{"one"});
  cache.record("a", nth_address(4), "four", 100, 2);
  CHECK(cache.address_count("a") == 3);
  CHECK(cache.names("a", nth_address(2), 3).empty());
  CHECK(cache.names("a", nth_address(1), 3) == Names{"one"});
  CHECK(cache.names("a", nth_address(3), 3) == Names{"three"});
  CHECK(cache.names("a", nth_address(4), 3) == Names{"four"});
  // Other apps have their own budget.
  cache.record("b", nth_address(2), "two", 100, 3);
  CHECK(cache.address_count("a") == 3);
  CHECK(cache.address_count() == 4);
}

TEST_CASE("the default bound holds under a flood of distinct addresses", "[cache]") {
  ResolutionCache cache;
  for (std::uint32_t i = 0; i < 10000; ++i) cache.record("flood", nth_address(i), "x", 100, 0);
  CHECK(cache.address_count("flood") == 4096);
  CHECK(cache.names("flood", nth_address(9999), 1) == Names{"x"});
  CHECK(cache.names("flood", nth_address(0), 1).empty());
}

TEST_CASE("names per address are bounded, soonest-expiring goes first", "[cache]") {
  ResolutionCache cache(ResolutionCache::Limits{16, 2});
  const IpAddress address = ip("10.0.0.1");
  cache.record("a", address, "long", 100, 0);
  cache.record("a", address, "short", 10, 0);
  cache.record("a", address, "new", 50, 0);
  CHECK(cache.names("a", address, 1) == Names{"new", "long"});
}

TEST_CASE("expire() drops everything expired and empty apps", "[cache]") {
  ResolutionCache cache;
  cache.record("a", ip("10.0.0.1"), "x", 10, 0);
  cache.record("a", ip("10.0.0.2"), "y", 100, 0);
  cache.record("b", ip("10.0.0.1"), "x", 10, 0);
  cache.expire(10);
  CHECK(cache.address_count("a") == 1);
  CHECK(cache.address_count("b") == 0);
  CHECK(cache.address_count() == 1);
  cache.forget("a");
  CHECK(cache.address_count() == 0);
  CHECK(cache.names("a", ip("10.0.0.2"), 11).empty());
}
