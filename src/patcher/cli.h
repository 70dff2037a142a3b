// Command-line parsing for netleash-patch (contract: README, "netleash-patch(1)").
#pragma once

#include <string>
#include <vector>

namespace netleash::elf {

struct Options {
  enum class Mode { Patch, Remove, Inspect, Help, Version };
  Mode mode = Mode::Patch;
  std::string app;
  std::string shim = "libnetleash.so.1";
  std::string output;  // -o OUT; empty with --in-place or --inspect
  bool in_place = false;
  bool json = false;
  bool allow_setuid = false;
  std::vector<std::string> files;
};

// App id syntax: 1-128 characters of [A-Za-z0-9._@+-], the first alphanumeric.
bool valid_app_id(const std::string& app);

// Parses argv. On a usage error returns false and sets *error (exit status 2).
bool parse_options(int argc, char** argv, Options* options, std::string* error);

extern const char kUsage[];

}  // namespace netleash::elf
