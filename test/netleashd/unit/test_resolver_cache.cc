// The resolver's answer cache: TTLs honoured, names case-insensitive, bounded.
#include <arpa/inet.h>
#include <sys/socket.h>

#include <catch2/catch.hpp>

#include "netleashd/dns/resolver_cache.h"

using netleash::netleashd::clamp_ttl;
using netleash::netleashd::ResolveResult;
using netleash::netleashd::ResolverCache;
using netleash::wire::ResolveStatus;

namespace {

ResolveResult answer(uint32_t ttl, ResolveStatus status = ResolveStatus::kOk) {
  ResolveResult r;
  r.status = status;
  r.ttl_s = ttl;
  r.canonical_name = "example.com";
  netleash::wire::Address a{};
  a.family = AF_INET;
  inet_pton(AF_INET, "192.0.2.1", a.addr);
  r.addresses.push_back(a);
  return r;
}

}  // namespace

TEST_CASE("an answer is served until its TTL runs out, with the TTL left") {
  ResolverCache cache;
  cache.store("example.com", AF_INET, answer(10), 1000);
  const ResolveResult* hit = cache.find("EXAMPLE.com.", AF_INET, 5000);
  REQUIRE(hit != nullptr);
  CHECK(hit->ttl_s == 6);
  CHECK(hit->addresses.size() == 1);
  CHECK(cache.find("example.com", AF_INET6, 5000) == nullptr);
  CHECK(cache.find("example.com", AF_INET, 11000) == nullptr);
  CHECK(cache.size() == 0);  // the expired entry went away
}

TEST_CASE("negative answers are cached, transient failures are not") {
  ResolverCache cache;
  cache.store("missing.example", AF_UNSPEC, answer(5, ResolveStatus::kNoName), 0);
  cache.store("flaky.example", AF_UNSPEC, answer(5, ResolveStatus::kAgain), 0);
  cache.store("zero.example", AF_UNSPEC, answer(0), 0);
  CHECK(cache.find("missing.example", AF_UNSPEC, 1000) != nullptr);
  CHECK(cache.find("flaky.example", AF_UNSPEC, 1000) == nullptr);
  CHECK(cache.find("zero.example", AF_UNSPEC, 0) == nullptr);
}

TEST_CASE("the cache stays bounded") {
  ResolverCache cache;
  for (size_t i = 0; i < ResolverCache::kMaxEntries + 10; ++i)
    cache.store("n" + std::to_string(i) + ".example", AF_INET, answer(100), 0);
  CHECK(cache.size() <= ResolverCache::kMaxEntries);
}

TEST_CASE("TTLs are clamped to the configured floor and ceiling") {
  CHECK(clamp_ttl(0, 5, 3600, 60) == 60);  // hosts file: no TTL
  CHECK(clamp_ttl(1, 5, 3600, 60) == 5);
  CHECK(clamp_ttl(300, 5, 3600, 60) == 300);
  CHECK(clamp_ttl(86400 * 7, 5, 3600, 60) == 3600);
}
