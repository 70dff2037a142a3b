// The message for a key that is not allowed where it was written, with the
// closest allowed key as a suggestion. One function for the policy files and
// the daemon configuration, so both suggest alike.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace netleash::policy {

// The allowed key the operator most likely meant: the one fewest edits away
// (at most two, and fewer than the key's length), a key it abbreviates
// counting as one edit; ties go to the earlier key. Empty when none is close.
std::string_view closest_key(std::string_view key, const std::vector<std::string_view>& allowed);

// `unknown key "KEY" in CONTEXT (did you mean "X"?)`, or `(allowed: A B C)`
// when no allowed key is close.
std::string unknown_key_message(std::string_view key, const std::vector<std::string_view>& allowed,
                                std::string_view context);

}  // namespace netleash::policy
