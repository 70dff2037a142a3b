#include "netleashd/policy/policy_fields.h"

#include <algorithm>

#include "netleashd/policy/unknown_key.h"

namespace netleash::policy::detail {

Fields::Fields(const json::Node& object, std::initializer_list<std::string_view> allowed,
               std::string_view context, Diagnostics& diagnostics) {
  for (const json::Node& member : object.children) {
    const auto known = std::find(allowed.begin(), allowed.end(), member.key);
    if (known == allowed.end()) {
      diagnostics.error(member.key_offset,
                        unknown_key_message(member.key, std::vector<std::string_view>(allowed), context));
      continue;
    }
    if (const json::Node* first = get(*known)) {
      diagnostics.error(member.key_offset, "duplicate key " + quoted(member.key) + " (first at " +
                                               diagnostics.location(first->key_offset) + ")");
      continue;
    }
    found_.emplace_back(*known, &member);
  }
}

const json::Node* Fields::get(std::string_view key) const {
  for (const auto& [name, value] : found_) {
    if (name == key) return value;
  }
  return nullptr;
}

bool expect_kind(const json::Node& value, json::Kind kind, std::string_view what,
                 Diagnostics& diagnostics) {
  if (value.kind == kind) return true;
  const std::string_view article = kind == json::Kind::kArray || kind == json::Kind::kObject ? "an" : "a";
  diagnostics.error(value.offset, std::string(what) + " must be " + std::string(article) + " " +
                                      std::string(json::kind_name(kind)) + ", not " +
                                      std::string(json::kind_name(value.kind)));
  return false;
}

std::optional<std::int64_t> expect_integer(const json::Node& value, std::int64_t min,
                                           std::int64_t max, std::string_view what,
                                           Diagnostics& diagnostics) {
  const std::string range = std::to_string(min) + "-" + std::to_string(max);
  if (value.kind == json::Kind::kNumber && value.integer && *value.integer >= min &&
      *value.integer <= max) {
    return value.integer;
  }
  if (value.kind == json::Kind::kNumber && value.integer) {
    diagnostics.error(value.offset, std::string(what) + " " + std::to_string(*value.integer) +
                                        " is out of range " + range);
  } else if (value.kind == json::Kind::kNumber) {
    diagnostics.error(value.offset, std::string(what) + " must be a whole number " + range);
  } else {
    diagnostics.error(value.offset, std::string(what) + " must be a number " + range + ", not " +
                                        std::string(json::kind_name(value.kind)));
  }
  return std::nullopt;
}

const json::Node* nonempty_array_field(const Fields& fields, std::string_view key,
                                       std::string_view omit_hint, Diagnostics& diagnostics) {
  const json::Node* value = fields.get(key);
  if (value == nullptr || !expect_kind(*value, json::Kind::kArray, quoted(key), diagnostics)) {
    return nullptr;
  }
  if (value->children.empty()) {
    diagnostics.error(value->offset, quoted(key) + " is empty; " + std::string(omit_hint));
    return nullptr;
  }
  return value;
}

}  // namespace netleash::policy::detail
