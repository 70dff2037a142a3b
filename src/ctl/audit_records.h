// Reading netleashd's audit log (one JSON object per line) for netleashctl
// log and suggest: where it is, and which records a command wants.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace netleash::ctl {

struct RecordFilter {
  std::string app;         // empty: every app
  bool deny_only = false;  // only "verdict": "deny"
  std::string since;       // RFC 3339 UTC lower bound on "ts"; empty: from the start
};

// "--since T": an RFC 3339 UTC time ("2026-12-04T21:00:00Z", or a prefix such
// as "2026-12-04") or a duration ago ("90s", "10m", "2h", "1d"), as the
// lower bound to compare "ts" with. nullopt with *error quoting T otherwise.
std::optional<std::string> parse_since(std::string_view text, std::string* error);

// The record of one line, or a discarded value for a line that is not a JSON
// object (a line cut short by a crash is skipped, not fatal).
nlohmann::json parse_record(std::string_view line);

bool wanted(const nlohmann::json& record, const RecordFilter& filter);

// The file to read: `file` when given, else the audit log the daemon says it
// writes. 0, or an exit status with the message printed (3: daemon
// unreachable, 1: the daemon writes to standard output).
int audit_log_path(const std::string& control_path, const std::string& file, std::string* path);

}  // namespace netleash::ctl
