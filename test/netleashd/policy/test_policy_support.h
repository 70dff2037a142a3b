// Helpers shared by the policy tests.
#pragma once

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "netleashd/policy/policy.h"

namespace netleash::policy::testing {

// A private directory, removed with everything in it at scope exit.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "netleash-policy-XXXXXX").string();
    REQUIRE(mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::string write(const std::string& name, const std::string& contents) const {
    const std::string file = (path_ / name).string();
    std::ofstream(file, std::ios::binary) << contents;
    return file;
  }
  std::string path() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

// Parses `text` as file "p.json"; requires success.
inline AppPolicy parse_ok(const std::string& text) {
  std::vector<std::string> errors;
  auto policy = parse_policy("p.json", text, &errors);
  INFO(text);
  for (const auto& error : errors) UNSCOPED_INFO(error);
  REQUIRE(policy);
  CHECK(errors.empty());
  return std::move(*policy);
}

// Parses `text` as file "p.json"; requires failure and returns the errors.
inline std::vector<std::string> parse_errors(const std::string& text) {
  std::vector<std::string> errors;
  INFO(text);
  CHECK_FALSE(parse_policy("p.json", text, &errors));
  CHECK_FALSE(errors.empty());
  return errors;
}

}  // namespace netleash::policy::testing
