// Internal: collects "FILE:LINE:COL: message" errors while validating one file.
#pragma once

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "netleashd/policy/json_positions.h"

namespace netleash::policy::detail {

class Diagnostics {
 public:
  Diagnostics(std::string_view file, std::string_view text) : file_(file), lines_(text) {}

  // A file with a thousand mistakes is not made clearer by a thousand lines.
  static constexpr std::size_t kMaxErrors = 100;

  void error(std::size_t offset, std::string_view message) {
    if (errors_.size() > kMaxErrors) return;
    if (errors_.size() == kMaxErrors) {
      errors_.push_back({offset, "too many errors, giving up on this file"});
      return;
    }
    errors_.push_back({offset, std::string(message)});
  }

  std::string location(std::size_t offset) const {
    const auto position = lines_.position(offset);
    return file_ + ":" + std::to_string(position.line) + ":" + std::to_string(position.column);
  }

  bool empty() const { return errors_.empty(); }

  // In file order (checks run in whatever order suits the code), each as
  // "FILE:LINE:COL: message".
  std::vector<std::string> messages() const {
    std::vector<Error> sorted = errors_;
    std::stable_sort(sorted.begin(), sorted.end(),
                     [](const Error& a, const Error& b) { return a.offset < b.offset; });
    std::vector<std::string> out;
    for (const Error& error : sorted) out.push_back(location(error.offset) + ": " + error.message);
    return out;
  }

 private:
  struct Error {
    std::size_t offset;
    std::string message;
  };
  std::string file_;
  json::LineMap lines_;
  std::vector<Error> errors_;
};

}  // namespace netleash::policy::detail
