// "users", "groups", "binary", "sha256": parsing with positions, and who they admit.
#include <catch2/catch.hpp>

#include "test_policy_support.h"

using Catch::Matchers::Contains;
using Errors = std::vector<std::string>;
using netleash::policy::Runner;
using netleash::policy::why_runner_refused;
using netleash::policy::testing::parse_errors;
using netleash::policy::testing::parse_ok;

TEST_CASE("runner pins parse names, ids and digits", "[runner]") {
  const auto policy = parse_ok(
      R"({"app": "a", "users": ["root", 1000, "65534"], "groups": ["root", 4],)"
      R"( "binary": ["/usr/bin/curl"], "sha256": [")" + std::string(63, '0') + R"(F"]})");
  CHECK(policy.pins.users == std::vector<uid_t>{0, 1000, 65534});
  CHECK(policy.pins.groups == std::vector<gid_t>{0, 4});
  CHECK(policy.pins.binary == std::vector<std::string>{"/usr/bin/curl"});
  CHECK(policy.pins.sha256 == std::vector<std::string>{std::string(63, '0') + "f"});
  const auto open = parse_ok(R"({"app": "a"})");
  CHECK(open.pins.users.empty());
  CHECK(open.pins.sha256.empty());
}

TEST_CASE("bad runner pins are errors at the value", "[runner][errors]") {
  CHECK(parse_errors(R"({"app": "a", "users": ["no-such-user-netleash"]})") ==
        Errors{R"(p.json:1:24: unknown user "no-such-user-netleash")"});
  CHECK(parse_errors(R"({"app": "a", "groups": ["no-such-group-netleash"]})") ==
        Errors{R"(p.json:1:25: unknown group "no-such-group-netleash")"});
  CHECK(parse_errors(R"({"app": "a", "users": [-1, 1.5, true, "99999999999"]})") ==
        Errors{"p.json:1:24: user id -1 is out of range 0-4294967294",
               "p.json:1:28: user id must be a whole number 0-4294967294",
               "p.json:1:33: a user must be a name or a number, not boolean",
               "p.json:1:39: user id 99999999999 is out of range"});
  CHECK_THAT(parse_errors(R"({"app": "a", "users": []})").at(0),
             Contains("p.json:1:23: \"users\" is empty; omit it"));
  CHECK_THAT(parse_errors(R"({"app": "a", "binary": "/usr/bin/curl"})").at(0),
             Contains("p.json:1:24: \"binary\" must be an array, not string"));
  for (const char* path : {"curl", "/usr/bin/", "/usr//bin", "/usr/./bin", "/usr/../bin", "/"}) {
    const auto errors =
        parse_errors(std::string(R"({"app": "a", "binary": [")") + path + R"("]})");
    CHECK_THAT(errors.at(0), Contains("p.json:1:25: \"binary\" entry") &&
                                 Contains("must be an absolute path"));
  }
  CHECK(parse_errors(R"({"app": "a", "binary": [1]})") ==
        Errors{"p.json:1:25: \"binary\" entry must be a string, not number"});
  CHECK(parse_errors(R"({"app": "a", "sha256": ["abc", ")" + std::string(64, 'g') + R"("]})") ==
        Errors{R"(p.json:1:25: "sha256" entry "abc" must be 64 hex digits (as sha256sum prints them))",
               "p.json:1:32: \"sha256\" entry \"" + std::string(64, 'g') +
                   "\" must be 64 hex digits (as sha256sum prints them)"});
}

TEST_CASE("runner pins admit exactly what they name", "[runner]") {
  const std::string digest(64, 'a');
  const auto policy = parse_ok(R"({"app": "a", "users": [1000], "groups": [100, 200],)"
                               R"( "binary": ["/opt/a"], "sha256": [")" + digest + R"("]})");
  Runner runner{"/opt/a", {1000, 1000, 1000, 1000}, {50, 50, 50, 50, 200}};
  CHECK(why_runner_refused(policy, runner, digest).empty());
  // Every uid must be listed: a saved uid of root could be switched back to.
  Runner saved = runner;
  saved.uids[2] = 0;
  CHECK(why_runner_refused(policy, saved, digest) ==
        "uid 0 (one of the process's uids 1000, 1000, 0, 1000) is not in \"users\"");
  Runner stranger = runner;
  stranger.gids = {50, 50, 50, 50};
  CHECK(why_runner_refused(policy, stranger, digest) ==
        "none of the process's groups (50, 50, 50, 50) is in \"groups\"");
  Runner elsewhere = runner;
  elsewhere.exe = "/tmp/a";
  CHECK(why_runner_refused(policy, elsewhere, digest) == "executable /tmp/a is not in \"binary\"");
  CHECK(why_runner_refused(policy, runner, std::string(64, 'b')) ==
        "executable /opt/a has sha256 " + std::string(64, 'b') + ", which is not in \"sha256\"");
  // Unknown credentials never pass a pin.
  Runner unknown = runner;
  unknown.uids.clear();
  CHECK(why_runner_refused(policy, unknown, digest) == "the process's credentials are unknown");
  // No pins: anyone, from anywhere.
  CHECK(why_runner_refused(parse_ok(R"({"app": "a"})"), Runner{}, "").empty());
}
