// Internal: checks shared by every object of the policy format — allowed and
// duplicate keys, value types — reporting through Diagnostics.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "netleashd/policy/json_positions.h"
#include "netleashd/policy/policy_diagnostics.h"
#include "netleashd/policy/policy_quote.h"

namespace netleash::policy::detail {

// The members of one JSON object, restricted to a known set of keys. Unknown
// keys (with a "did you mean" hint) and repeated keys are reported at the key.
class Fields {
 public:
  Fields(const json::Node& object, std::initializer_list<std::string_view> allowed,
         std::string_view context, Diagnostics& diagnostics);

  // The first occurrence of `key`, or nullptr.
  const json::Node* get(std::string_view key) const;

 private:
  std::vector<std::pair<std::string_view, const json::Node*>> found_;
};

// Reports "WHAT must be a KIND, not ACTUAL" at the value and returns false if
// the kind differs.
bool expect_kind(const json::Node& value, json::Kind kind, std::string_view what,
                 Diagnostics& diagnostics);

// A whole number in [min, max], else reports at the value and returns nullopt.
std::optional<std::int64_t> expect_integer(const json::Node& value, std::int64_t min,
                                           std::int64_t max, std::string_view what,
                                           Diagnostics& diagnostics);

// The array at `key`, or nullptr when absent or not an array (reported). An
// empty array is reported at its '[' with `omit_hint`: an empty list is never
// what was meant.
const json::Node* nonempty_array_field(const Fields& fields, std::string_view key,
                                       std::string_view omit_hint, Diagnostics& diagnostics);

}  // namespace netleash::policy::detail
