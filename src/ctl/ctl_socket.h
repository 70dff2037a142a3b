// One request to netleashd's control socket PATH.ctl: a JSON line out, a JSON
// line back. Shared by every netleashctl command that asks the daemon.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace netleash::ctl {

inline constexpr const char* kProgram = "netleashctl";

// The daemon's answer, or false with *error saying why (unreachable, no
// answer in time, unreadable).
bool ask(const std::string& control_path, const nlohmann::json& request, nlohmann::json* answer,
         std::string* error);

// "netleashctl: MESSAGE" on stderr; returns `status`.
int fail(const std::string& message, int status = 1);

}  // namespace netleash::ctl
