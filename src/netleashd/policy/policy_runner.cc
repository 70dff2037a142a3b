#include "netleashd/policy/policy_runner.h"

#include <grp.h>
#include <pwd.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace netleash::policy {
namespace detail {
namespace {

using json::Kind;
using json::Node;

// The largest valid id: (uid_t)-1 means "no id" to the kernel.
constexpr std::int64_t kMaxId = 4294967294;

bool all_digits(const std::string& text) {
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// NSS lookups; getpw/getgr*_r need a buffer whose size sysconf only hints at.
std::optional<std::uint32_t> lookup_user(const std::string& name) {
  std::vector<char> buffer(16384);
  passwd entry{};
  passwd* found = nullptr;
  if (getpwnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found) != 0 || !found)
    return std::nullopt;
  return found->pw_uid;
}

std::optional<std::uint32_t> lookup_group(const std::string& name) {
  std::vector<char> buffer(65536);
  group entry{};
  group* found = nullptr;
  if (getgrnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found) != 0 || !found)
    return std::nullopt;
  return found->gr_gid;
}

// A name or a numeric id (a JSON number or a string of digits).
std::vector<std::uint32_t> parse_ids(const Fields& fields, std::string_view key,
                                     const char* noun,
                                     std::optional<std::uint32_t> (*lookup)(const std::string&),
                                     Diagnostics& diagnostics) {
  std::vector<std::uint32_t> ids;
  const Node* list = nonempty_array_field(
      fields, key, "omit it to let anyone who can run the binary use this policy", diagnostics);
  if (list == nullptr) return ids;
  for (const Node& item : list->children) {
    std::optional<std::int64_t> id;
    if (item.kind == Kind::kNumber) {
      id = expect_integer(item, 0, kMaxId, std::string(noun) + " id", diagnostics);
    } else if (item.kind != Kind::kString) {
      diagnostics.error(item.offset, std::string("a ") + noun + " must be a name or a number, not " +
                                         std::string(json::kind_name(item.kind)));
    } else if (all_digits(item.string)) {
      // More than 10 digits is beyond any id (and beyond what stoll takes).
      const long long value = item.string.size() > 10 ? kMaxId + 1 : std::stoll(item.string);
      if (value <= kMaxId) id = value;
      else diagnostics.error(item.offset, std::string(noun) + " id " + item.string + " is out of range");
    } else if (const auto found = lookup(item.string)) {
      id = *found;
    } else {
      diagnostics.error(item.offset, std::string("unknown ") + noun + " " + quoted(item.string));
    }
    if (id) ids.push_back(static_cast<std::uint32_t>(*id));
  }
  return ids;
}

// The kernel reports canonical paths (/proc/PID/exe): a pin with "." or
// ".." components, "//" or a trailing "/" could never match, so it is an error.
bool is_canonical_path(const std::string& path) {
  if (path.size() < 2 || path.front() != '/' || path.back() == '/') return false;
  size_t start = 1;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    const std::string_view part(path.data() + start, end - start);
    if (part.empty() || part == "." || part == "..") return false;
    start = end + 1;
  }
  return path.find('\0') == std::string::npos;
}

std::vector<std::string> parse_strings(const Fields& fields, std::string_view key,
                                       std::string_view omit_hint, Diagnostics& diagnostics) {
  std::vector<std::string> values;
  const Node* list = nonempty_array_field(fields, key, omit_hint, diagnostics);
  if (list == nullptr) return values;
  for (const Node& item : list->children) {
    if (expect_kind(item, Kind::kString, quoted(key) + " entry", diagnostics))
      values.push_back(item.string);
    else
      values.emplace_back();
  }
  return values;
}

void check_entries(const Fields& fields, std::string_view key, std::vector<std::string>* values,
                   bool (*valid)(std::string*), const char* requirement,
                   Diagnostics& diagnostics) {
  const Node* list = fields.get(key);
  for (size_t i = 0; i < values->size(); ++i) {
    const Node& item = list->children[i];
    if (item.kind == Kind::kString && !valid(&(*values)[i]))
      diagnostics.error(item.offset, quoted(key) + " entry " + quoted(item.string) + " " + requirement);
  }
}

bool valid_binary(std::string* path) { return is_canonical_path(*path); }

// sha256sum prints lowercase; uppercase is accepted and folded.
bool valid_digest(std::string* hex) {
  if (hex->size() != 64) return false;
  for (char& c : *hex) {
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

RunnerPins parse_runner_pins(const Fields& fields, Diagnostics& diagnostics) {
  RunnerPins pins;
  for (auto id : parse_ids(fields, "users", "user", &lookup_user, diagnostics))
    pins.users.push_back(static_cast<uid_t>(id));
  for (auto id : parse_ids(fields, "groups", "group", &lookup_group, diagnostics))
    pins.groups.push_back(static_cast<gid_t>(id));
  pins.binary = parse_strings(fields, "binary", "omit it to allow any path", diagnostics);
  check_entries(fields, "binary", &pins.binary, &valid_binary,
                "must be an absolute path without \".\", \"..\", \"//\" or a trailing \"/\"",
                diagnostics);
  pins.sha256 = parse_strings(fields, "sha256", "omit it to allow any content", diagnostics);
  check_entries(fields, "sha256", &pins.sha256, &valid_digest,
                "must be 64 hex digits (as sha256sum prints them)", diagnostics);
  return pins;
}

}  // namespace detail

namespace {

template <typename Id>
std::string list_of(const std::vector<Id>& ids) {
  std::string text;
  for (auto id : ids) text += (text.empty() ? "" : ", ") + std::to_string(id);
  return text;
}

bool contains(const auto& list, const auto& value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

}  // namespace

std::string why_runner_refused(const AppPolicy& policy, const Runner& runner,
                               std::string_view sha256) {
  const RunnerPins& pins = policy.pins;
  // Fail closed: a pin cannot hold for credentials nobody could read.
  if ((!pins.users.empty() && runner.uids.empty()) || (!pins.groups.empty() && runner.gids.empty()))
    return "the process's credentials are unknown";
  if (!pins.users.empty()) {
    for (uid_t uid : runner.uids)
      if (!contains(pins.users, uid))
        return "uid " + std::to_string(uid) + " (one of the process's uids " + list_of(runner.uids) +
               ") is not in \"users\"";
  }
  if (!pins.groups.empty() &&
      std::none_of(runner.gids.begin(), runner.gids.end(),
                   [&](gid_t gid) { return contains(pins.groups, gid); })) {
    return "none of the process's groups (" + list_of(runner.gids) + ") is in \"groups\"";
  }
  if (!pins.binary.empty() && !contains(pins.binary, runner.exe))
    return "executable " + runner.exe + " is not in \"binary\"";
  if (!pins.sha256.empty() && !contains(pins.sha256, std::string(sha256)))
    return "executable " + runner.exe + " has sha256 " +
           (sha256.empty() ? std::string("(unknown)") : std::string(sha256)) +
           ", which is not in \"sha256\"";
  return {};
}

}  // namespace netleash::policy
