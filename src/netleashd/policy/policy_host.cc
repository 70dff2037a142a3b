#include "netleashd/policy/policy_host.h"

#include "netleashd/policy/address.h"
#include "netleashd/policy/policy_quote.h"

namespace netleash::policy {
namespace {

constexpr std::size_t kMaxNameLength = 253;
constexpr std::size_t kMaxLabelLength = 63;

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool is_label_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

std::string_view without_trailing_dot(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  return name;
}

bool equal_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

}  // namespace

bool is_valid_host_name(std::string_view name) {
  name = without_trailing_dot(name);
  if (name.empty() || name.size() > kMaxNameLength) return false;
  std::size_t label_start = 0;
  while (label_start <= name.size()) {
    std::size_t label_end = name.find('.', label_start);
    if (label_end == std::string_view::npos) label_end = name.size();
    const std::string_view label = name.substr(label_start, label_end - label_start);
    if (label.empty() || label.size() > kMaxLabelLength) return false;
    if (label.front() == '-' || label.back() == '-') return false;
    for (char c : label) {
      if (!is_label_char(c)) return false;
    }
    label_start = label_end + 1;
  }
  return true;
}

std::string normalize_host_name(std::string_view name) {
  name = without_trailing_dot(name);
  std::string out(name);
  for (char& c : out) c = ascii_lower(c);
  return out;
}

std::optional<HostPattern> HostPattern::parse(std::string_view text, std::string* error) {
  auto fail = [&](std::string message) -> std::optional<HostPattern> {
    if (error != nullptr) *error = std::move(message);
    return std::nullopt;
  };
  HostPattern pattern;
  std::string_view name = text;
  if (name.substr(0, 2) == "*.") {
    pattern.wildcard_ = true;
    name.remove_prefix(2);
  }
  if (name.find('*') != std::string_view::npos) {
    return fail("'*' is only allowed as a whole first label: \"*.example.com\"");
  }
  if (IpAddress::parse(without_trailing_dot(name))) {
    return fail(quoted(text) + " is an address; use \"cidr\" for addresses");
  }
  if (!is_valid_host_name(name)) {
    return fail(quoted(text) + " is not a valid DNS name");
  }
  pattern.name_ = normalize_host_name(name);
  return pattern;
}

bool HostPattern::matches(std::string_view name) const {
  name = without_trailing_dot(name);
  if (!wildcard_) return equal_ignoring_case(name, name_);
  // Strictly below: at least one more label, separated by a dot.
  if (name.size() < name_.size() + 2) return false;
  const std::size_t split = name.size() - name_.size();
  return name[split - 1] == '.' && equal_ignoring_case(name.substr(split), name_);
}

}  // namespace netleash::policy
