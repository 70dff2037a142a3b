// netleashctl suggest APP: a policy file for APP from its audit records
// (allowed, learned and denied), on standard output.
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <fstream>

#include "ctl/audit_records.h"
#include "ctl/ctl_commands.h"
#include "ctl/ctl_socket.h"
#include "ctl/policy_suggestion.h"

namespace netleash::ctl {

int command_suggest(const std::string& control_path, const Args& args) {
  RecordFilter filter;
  std::string file;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    const bool has_value = i + 1 < args.size();
    if (arg == "--file" && has_value) {
      file = args[++i];
    } else if (arg == "--since" && has_value) {
      std::string error;
      const auto since = parse_since(args[++i], &error);
      if (!since) return usage_error(error);
      filter.since = *since;
    } else if (!arg.starts_with("-") && filter.app.empty()) {
      filter.app = arg;
    } else {
      return usage_error("unexpected argument: " + arg);
    }
  }
  if (filter.app.empty()) return usage_error("suggest needs APP");
  std::string path;
  if (const int status = audit_log_path(control_path, file, &path); status != 0) return status;
  std::ifstream in(path);
  if (!in) return fail("cannot open " + path + ": " + strerror(errno));
  PolicySuggestion suggestion(filter.app);
  for (std::string line; std::getline(in, line);) {
    const auto record = parse_record(line);
    if (wanted(record, filter)) suggestion.add(record);
  }
  if (suggestion.empty())
    fprintf(stderr, "%s: no connection or listener of app %s in %s%s\n", kProgram, filter.app.c_str(),
            path.c_str(), filter.since.empty() ? "" : " since then");
  printf("%s\n", suggestion.policy().dump(2).c_str());
  return 0;
}

}  // namespace netleash::ctl
