// The destination request and result inside a tunnel (docs/tunnel.md §13).
#include <catch2/catch.hpp>

#include "netleashd/tunnel/tunnel_protocol.h"

using namespace netleash::netleashd;
using netleash::tunnel::Bytes;

TEST_CASE("Requests round-trip and arrive in pieces", "[tunnel_protocol]") {
  LinkRequest request{*netleash::policy::Endpoint::parse("[2001:db8::1]:443"), "demo"};
  const Bytes bytes = encode_link_request(request);
  CHECK(bytes.size() == kLinkRequestFixed + 4);
  size_t consumed = 0;
  std::string error;
  for (size_t n = 0; n < bytes.size(); ++n) {
    CHECK_FALSE(decode_link_request({bytes.data(), n}, &consumed, &error));
    CHECK(error.empty());
  }
  const auto decoded = decode_link_request(bytes, &consumed, &error);
  REQUIRE(decoded);
  CHECK(consumed == bytes.size());
  CHECK(decoded->destination.to_string() == "[2001:db8::1]:443");
  CHECK(decoded->app == "demo");
}

TEST_CASE("Malformed requests are refused with a reason", "[tunnel_protocol]") {
  LinkRequest request{*netleash::policy::Endpoint::parse("10.1.2.3:80"), ""};
  const Bytes good = encode_link_request(request);
  size_t consumed = 0;
  std::string error;
  for (const size_t at : {size_t{0}, size_t{1}, size_t{2}, size_t{12}}) {
    Bytes bad = good;
    bad[at] ^= 0x40;
    CHECK_FALSE(decode_link_request(bad, &consumed, &error));
    CHECK_FALSE(error.empty());
  }
}

TEST_CASE("Results carry errno values", "[tunnel_protocol]") {
  CHECK(decode_link_result(encode_link_result(0)) == 0);
  CHECK(decode_link_result(encode_link_result(111)) == 111);
  CHECK_FALSE(decode_link_result(Bytes{2, 0, 0, 0}));
  CHECK_FALSE(decode_link_result(Bytes{1, 0, 0x10, 0}));
}
