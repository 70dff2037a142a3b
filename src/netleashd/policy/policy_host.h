// DNS host names and the host patterns of outbound rules.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace netleash::policy {

// Presentation-form DNS name: labels of 1-63 letters, digits, '-' or '_'
// (no '-' at either end of a label), at most 253 characters, one optional
// trailing dot. '_' is accepted because real internal names use it.
bool is_valid_host_name(std::string_view name);

// Lower-cases and drops one trailing dot: the form patterns compare against.
std::string normalize_host_name(std::string_view name);

// "name" matches that name only; "*.suffix" matches every name strictly below
// suffix, at any depth ("a.suffix", "a.b.suffix"), but not "suffix" itself.
// Comparison ignores ASCII case and one trailing dot.
class HostPattern {
 public:
  static std::optional<HostPattern> parse(std::string_view text, std::string* error = nullptr);

  bool matches(std::string_view name) const;
  bool is_wildcard() const { return wildcard_; }
  // The normalized name, or for a wildcard the suffix without "*.".
  const std::string& name() const { return name_; }
  std::string to_string() const { return wildcard_ ? "*." + name_ : name_; }

  friend bool operator==(const HostPattern&, const HostPattern&) = default;

 private:
  std::string name_;
  bool wildcard_ = false;
};

}  // namespace netleash::policy
