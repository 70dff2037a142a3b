#include <catch2/catch.hpp>

#include "netleashd/policy/policy_host.h"

using netleash::policy::HostPattern;
using netleash::policy::is_valid_host_name;
using netleash::policy::normalize_host_name;

namespace {

HostPattern pattern(const char* text) {
  std::string error;
  auto parsed = HostPattern::parse(text, &error);
  INFO(error);
  REQUIRE(parsed);
  return *parsed;
}

}  // namespace

TEST_CASE("host name syntax", "[host]") {
  for (const char* good : {"localhost", "example.com", "example.com.", "a-b.c_d.e", "xn--bcher-kva.ch",
                           "1password.com", "A.B.C"}) {
    INFO(good);
    CHECK(is_valid_host_name(good));
  }
  const std::string label63(63, 'a');
  CHECK(is_valid_host_name(label63 + ".com"));
  CHECK_FALSE(is_valid_host_name(std::string(64, 'a') + ".com"));
  std::string long_name;
  while (long_name.size() < 250) long_name += "abcdefg.";
  long_name.resize(253);
  CHECK(is_valid_host_name(long_name.substr(0, 253)));
  CHECK_FALSE(is_valid_host_name(long_name + "x"));
  for (const char* bad : {"", ".", "..", "a..b", ".a", "-a.com", "a-.com", "a b", "a/b", "é.com",
                          "a.com..", "*.a.com"}) {
    INFO(bad);
    CHECK_FALSE(is_valid_host_name(bad));
  }
}

TEST_CASE("host names normalize to lower case without the trailing dot", "[host]") {
  CHECK(normalize_host_name("WWW.Example.COM.") == "www.example.com");
  CHECK(normalize_host_name("a") == "a");
}

TEST_CASE("exact host patterns", "[host]") {
  const HostPattern exact = pattern("API.Example.com.");
  CHECK(exact.to_string() == "api.example.com");
  CHECK(exact.matches("api.example.com"));
  CHECK(exact.matches("API.EXAMPLE.COM"));
  CHECK(exact.matches("api.example.com."));
  CHECK_FALSE(exact.matches("api.example.com.."));
  CHECK_FALSE(exact.matches("x.api.example.com"));
  CHECK_FALSE(exact.matches("example.com"));
  CHECK_FALSE(exact.matches("api.example.co"));
}

TEST_CASE("wildcards match names below the apex, at any depth", "[host]") {
  const HostPattern wildcard = pattern("*.Example.Internal");
  CHECK(wildcard.is_wildcard());
  CHECK(wildcard.to_string() == "*.example.internal");
  CHECK(wildcard.matches("db.example.internal"));
  CHECK(wildcard.matches("a.b.c.example.internal"));
  CHECK(wildcard.matches("DB.EXAMPLE.INTERNAL."));
  CHECK_FALSE(wildcard.matches("example.internal"));
  CHECK_FALSE(wildcard.matches("example.internal."));
  CHECK_FALSE(wildcard.matches(".example.internal"));
  CHECK_FALSE(wildcard.matches("badexample.internal"));
  CHECK_FALSE(wildcard.matches("db.example.internal.evil.com"));
  CHECK_FALSE(wildcard.matches("internal"));
}

TEST_CASE("bad host patterns are explained", "[host]") {
  std::string error;
  CHECK_FALSE(HostPattern::parse("*", &error));
  CHECK(error == "'*' is only allowed as a whole first label: \"*.example.com\"");
  CHECK_FALSE(HostPattern::parse("a.*.com", &error));
  CHECK(error == "'*' is only allowed as a whole first label: \"*.example.com\"");
  CHECK_FALSE(HostPattern::parse("*foo.com", &error));
  CHECK_FALSE(HostPattern::parse("10.0.0.1", &error));
  CHECK(error == "\"10.0.0.1\" is an address; use \"cidr\" for addresses");
  CHECK_FALSE(HostPattern::parse("::1", &error));
  CHECK(error == "\"::1\" is an address; use \"cidr\" for addresses");
  CHECK_FALSE(HostPattern::parse("exa mple.com", &error));
  CHECK(error == "\"exa mple.com\" is not a valid DNS name");
  CHECK_FALSE(HostPattern::parse("*.", &error));
  CHECK(error == "\"*.\" is not a valid DNS name");
  CHECK_FALSE(HostPattern::parse("", &error));
}
