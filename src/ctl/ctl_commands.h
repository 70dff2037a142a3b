// The netleashctl commands. Each parses its own arguments (after the command
// name) and returns the process's exit status; 2 is a usage error.
#pragma once

#include <string>
#include <vector>

namespace netleash::ctl {

using Args = std::vector<std::string>;

int command_status(const std::string& control_path, const Args& args);
int command_reload_or_check(const std::string& control_path, const std::string& cmd, const Args& args);
int command_explain(const std::string& control_path, const Args& args);
int command_log(const std::string& control_path, const Args& args);
int command_suggest(const std::string& control_path, const Args& args);

// "netleashctl: unexpected argument: ARG" and the usage on stderr; returns 2.
int usage_error(const std::string& message);

}  // namespace netleash::ctl
