#include "ctl/audit_records.h"

#include <time.h>

#include <cstdio>

#include "ctl/ctl_socket.h"

namespace netleash::ctl {
namespace {

std::string rfc3339(time_t when) {
  tm utc{};
  gmtime_r(&when, &utc);
  char text[32];
  strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
  return text;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

std::optional<std::string> parse_since(std::string_view text, std::string* error) {
  // "2026-12-04..." compares as text with "ts", which has the same layout.
  if (text.size() >= 10 && is_digit(text[0]) && text[4] == '-' && text[7] == '-')
    return std::string(text.ends_with("Z") ? text.substr(0, text.size() - 1) : text);
  const char unit = text.empty() ? '\0' : text.back();
  const long long scale = unit == 's' ? 1 : unit == 'm' ? 60 : unit == 'h' ? 3600 : unit == 'd' ? 86400 : 0;
  const std::string_view digits = text.substr(0, text.empty() ? 0 : text.size() - 1);
  long long count = 0;
  bool number = !digits.empty() && digits.size() <= 9;
  for (char c : digits) {
    number = number && is_digit(c);
    count = count * 10 + (c - '0');
  }
  if (scale == 0 || !number) {
    *error = "bad --since \"" + std::string(text) +
             "\" (expected an RFC 3339 UTC time such as 2026-12-04T21:00:00Z, or 90s, 10m, 2h, 1d)";
    return std::nullopt;
  }
  return rfc3339(time(nullptr) - static_cast<time_t>(count * scale));
}

nlohmann::json parse_record(std::string_view line) {
  auto record = nlohmann::json::parse(line, nullptr, false);
  return record.is_object() ? record : nlohmann::json(nlohmann::json::value_t::discarded);
}

bool wanted(const nlohmann::json& record, const RecordFilter& filter) {
  if (!record.is_object()) return false;
  if (!filter.app.empty() && record.value("app", nlohmann::json(nullptr)) != filter.app) return false;
  if (filter.deny_only && record.value("verdict", "") != "deny") return false;
  return filter.since.empty() || record.value("ts", "") >= filter.since;
}

int audit_log_path(const std::string& control_path, const std::string& file, std::string* path) {
  if (!file.empty()) {
    *path = file;
    return 0;
  }
  nlohmann::json answer;
  std::string error;
  if (!ask(control_path, {{"cmd", "status"}}, &answer, &error))
    return fail(error + " (give the audit log with --file)", 3);
  const auto log = answer.value("daemon", nlohmann::json::object()).value("audit_log", "");
  if (log.empty() || log == "-")
    return fail("netleashd writes its audit log to standard output (the journal); give the file with --file");
  *path = log;
  return 0;
}

}  // namespace netleash::ctl
