#include <catch2/catch.hpp>

#include <filesystem>

#include "test_policy_support.h"

using namespace netleash::policy;
using Catch::Matchers::Contains;
using netleash::policy::testing::TempDir;
using Errors = std::vector<std::string>;

TEST_CASE("load_dir loads every *.json and finds apps", "[load]") {
  TempDir dir;
  dir.write("b.json", R"({"app": "beta", "outbound": [{"cidr": "10.0.0.0/8"}]})");
  dir.write("a.json", R"({"app": "alpha"})");
  dir.write("notes.txt", "not a policy");
  dir.write(".swap.json", "{ half written");
  std::filesystem::create_directory(std::filesystem::path(dir.path()) / "sub.json");
  dir.write("c.JSON", R"({"app": "gamma"})");
  dir.write("b.json~", "an editor's backup");
  Errors errors;
  Errors warnings;
  const auto set = PolicySet::load_dir(dir.path(), &errors, &warnings);
  CHECK(errors.empty());
  // A policy saved under another name is not loaded, and says so.
  CHECK(warnings == Errors{dir.path() + "/c.JSON: warning: not loaded: policy files must end in .json",
                           dir.path() + "/notes.txt: warning: not loaded: policy files must end in .json"});
  REQUIRE(set);
  CHECK(set->apps().size() == 2);
  const AppPolicy* beta = set->find("beta");
  REQUIRE(beta);
  CHECK(beta->file == dir.path() + "/b.json");
  CHECK(beta->outbound.size() == 1);
  CHECK(set->find("alpha"));
  CHECK_FALSE(set->find("gamma"));
  CHECK_FALSE(set->find("alph"));
  CHECK_FALSE(set->find(""));
}

TEST_CASE("an empty directory is a valid deny-everything set", "[load]") {
  TempDir dir;
  Errors errors;
  const auto set = PolicySet::load_dir(dir.path(), &errors);
  REQUIRE(set);
  CHECK(set->apps().empty());
  CHECK(errors.empty());
}

TEST_CASE("load_dir collects the errors of every file and loads nothing", "[load]") {
  TempDir dir;
  dir.write("1.json", R"({"app": "ok"})");
  const std::string two = dir.write("2.json", "{\"app\": \"x\",\n \"bogus\": 1}");
  const std::string three = dir.write("3.json", "{\"app\": 7}");
  Errors errors;
  CHECK_FALSE(PolicySet::load_dir(dir.path(), &errors));
  CHECK(errors == Errors{two + ":2:2: unknown key \"bogus\" in policy (allowed: app users groups binary sha256 outbound "
                               "inbound resolve dns mode comment $schema)",
                         three + ":1:9: \"app\" must be a string, not number"});
}

TEST_CASE("two files for one app are an error naming both", "[load]") {
  TempDir dir;
  const std::string first = dir.write("first.json", "{\n  \"app\": \"demo\"\n}");
  const std::string second = dir.write("second.json", R"({"comment": "copy", "app": "demo"})");
  dir.write("third.json", R"({"app": "other"})");
  Errors errors;
  CHECK_FALSE(PolicySet::load_dir(dir.path(), &errors));
  CHECK(errors == Errors{first + ":2:10: app \"demo\" is also defined at " + second + ":1:28",
                         second + ":1:28: app \"demo\" is already defined at " + first + ":2:10"});
}

TEST_CASE("a missing directory is an error", "[load]") {
  Errors errors;
  CHECK_FALSE(PolicySet::load_dir("/nonexistent/netleash-policies", &errors));
  REQUIRE(errors.size() == 1);
  CHECK_THAT(errors[0], Contains("/nonexistent/netleash-policies: cannot read directory: "));
}

TEST_CASE("an unreadable file is an error", "[load]") {
  if (geteuid() == 0) return;  // root reads everything; covered by the symlink case below
  TempDir dir;
  const std::string file = dir.write("locked.json", R"({"app": "a"})");
  std::filesystem::permissions(file, std::filesystem::perms::none);
  Errors errors;
  CHECK_FALSE(PolicySet::load_dir(dir.path(), &errors));
  CHECK(errors == Errors{file + ": cannot read: Permission denied"});
}

TEST_CASE("symlinked policies are followed; a dangling one is an error", "[load]") {
  TempDir dir;
  TempDir elsewhere;
  const std::string target = elsewhere.write("real.json", R"({"app": "linked"})");
  const auto link = std::filesystem::path(dir.path()) / "link.json";
  std::filesystem::create_symlink(target, link);
  Errors errors;
  const auto set = PolicySet::load_dir(dir.path(), &errors);
  REQUIRE(set);
  CHECK(set->find("linked"));

  std::filesystem::remove(target);
  CHECK_FALSE(PolicySet::load_dir(dir.path(), &errors));
  CHECK(errors == Errors{link.string() + ": cannot read: dangling symbolic link"});
}

TEST_CASE("from_policies rejects duplicates", "[load]") {
  std::vector<AppPolicy> policies(2);
  policies[0].app = policies[1].app = "x";
  policies[0].app_location = "a:1:1";
  policies[1].app_location = "b:1:1";
  Errors errors;
  CHECK_FALSE(PolicySet::from_policies(policies, &errors));
  CHECK(errors.size() == 2);
  policies[1].app = "y";
  CHECK(PolicySet::from_policies(policies, nullptr));
}
