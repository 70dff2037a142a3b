// Connection limits, watermarks and the daemon configuration file.
#include <catch2/catch.hpp>

#include "netleashd/config.h"
#include "netleashd/decide/connection_limits.h"

using netleash::netleashd::Config;
using netleash::netleashd::ConnectionLimits;
using netleash::netleashd::parse_config;
using netleash::netleashd::Watermarks;

TEST_CASE("per-app and total limits are enforced and released") {
  ConnectionLimits limits(3, 2);
  std::string reason;
  CHECK(limits.acquire("a", &reason));
  CHECK(limits.acquire("a", &reason));
  CHECK_FALSE(limits.acquire("a", &reason));
  CHECK(reason.find("per-app") != std::string::npos);
  CHECK(limits.acquire("b", &reason));
  CHECK_FALSE(limits.acquire("c", &reason));
  CHECK(reason.find("daemon") != std::string::npos);
  CHECK(limits.of("c") == 0);
  limits.release("a");
  CHECK(limits.total() == 2);
  CHECK(limits.acquire("c", &reason));
  limits.release("unknown");  // harmless
  CHECK(limits.total() == 3);
}

TEST_CASE("watermarks pause above high and resume at low") {
  const Watermarks marks{256 * 1024, 64 * 1024};
  CHECK_FALSE(marks.should_pause(256 * 1024));
  CHECK(marks.should_pause(256 * 1024 + 1));
  CHECK_FALSE(marks.should_resume(64 * 1024 + 1));
  CHECK(marks.should_resume(64 * 1024));
}

TEST_CASE("a configuration file overrides the defaults it names") {
  Config config;
  std::string error;
  REQUIRE(parse_config("c.json",
                       R"({"max_connections": 10, "connect_timeout_ms": 500,
                           "resolver": {"servers": ["127.0.0.1:5353"], "hosts_file": "/tmp/h",
                                        "max_in_flight": 2, "dns_ports": [53, 5353]}})",
                       &config, &error));
  CHECK(config.max_connections == 10);
  CHECK(config.connect_timeout_ms == 500);
  CHECK(config.resolver.servers.size() == 1);
  CHECK(config.resolver.hosts_file == "/tmp/h");
  CHECK(config.resolver.max_in_flight == 2);
  CHECK(config.resolver.dns_ports == std::vector<uint16_t>{53, 5353});
  CHECK(Config{}.resolver.dns_ports == std::vector<uint16_t>{53});
  CHECK(config.max_pending == Config{}.max_pending);
}

TEST_CASE("configuration errors name the file and, for syntax, the position") {
  Config config;
  std::string error;
  CHECK_FALSE(parse_config("c.json", "{\n  \"max_connections\": ,\n}", &config, &error));
  CHECK(error.rfind("c.json:2:", 0) == 0);
  CHECK_FALSE(parse_config("c.json", R"({"bogus": 1})", &config, &error));
  CHECK(error.find("bogus") != std::string::npos);
  CHECK_FALSE(parse_config("c.json", R"({"max_connections": -1})", &config, &error));
  CHECK_FALSE(parse_config("c.json", R"({"high_water": 2048, "low_water": 4096})", &config, &error));
  CHECK_FALSE(parse_config("c.json", R"({"resolver": {"servers": "x"}})", &config, &error));
  CHECK_FALSE(parse_config("c.json", R"({"resolver": {"dns_ports": []}})", &config, &error));
  CHECK_FALSE(parse_config("c.json", R"({"resolver": {"dns_ports": [70000]}})", &config, &error));
  CHECK(error == "c.json: \"dns_ports\" entries must be ports 1-65535, not 70000");
}

TEST_CASE("trusted_owners takes uids and user names") {
  Config config;
  std::string error;
  REQUIRE(parse_config("c.json", R"({"trusted_owners": [1000, "root", "nobody"]})", &config, &error));
  CHECK(config.trusted_owners == std::vector<uid_t>{1000, 0, 65534});
  CHECK_FALSE(parse_config("c.json", R"({"trusted_owners": ["no-such-user-netleash"]})", &config,
                           &error));
  CHECK(error == "c.json: \"trusted_owners\": unknown user \"no-such-user-netleash\"");
  CHECK_FALSE(parse_config("c.json", R"({"trusted_owners": [-1]})", &config, &error));
  CHECK(error == "c.json: \"trusted_owners\": -1 is neither a uid nor a user name");
  CHECK_FALSE(parse_config("c.json", R"({"trusted_owners": 0})", &config, &error));
  CHECK(error == "c.json: \"trusted_owners\" must be an array of uids or user names");
}

TEST_CASE("a mistyped configuration key gets the closest key, as in a policy") {
  Config config;
  std::string error;
  CHECK_FALSE(parse_config("c.json", R"({"max_conections": 1})", &config, &error));
  CHECK(error == "c.json: unknown key \"max_conections\" in the configuration "
                 "(did you mean \"max_connections\"?)");
  CHECK_FALSE(parse_config("c.json", R"({"resolver": {"timeout": 1}})", &config, &error));
  CHECK(error == "c.json: unknown key \"timeout\" in \"resolver\" (did you mean \"timeout_ms\"?)");
  CHECK_FALSE(parse_config("c.json", R"({"key": "/k", "peers": {"b": {"adress": "10.0.0.2:7443"}}})",
                           &config, &error));
  CHECK(error == "c.json:1:31: unknown key \"adress\" in peer \"b\" (did you mean \"address\"?)");
}

TEST_CASE("the splice path is on by default, off with \"splice\": false, and takes only a boolean") {
  Config config;
  std::string error;
  CHECK(Config{}.splice);
  REQUIRE(parse_config("c.json", R"({"splice": false})", &config, &error));
  CHECK_FALSE(config.splice);
  CHECK_FALSE(parse_config("c.json", R"({"splice": "no"})", &config, &error));
  CHECK(error.find("\"splice\" must be true or false") != std::string::npos);
}
