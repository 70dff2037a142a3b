// The control socket's "explain": the decision netleashd would make now for
// an app and a destination, with the rule that decides it or, for a denial,
// the nearest rule and what is missing (netleashctl explain).
#pragma once

#include <nlohmann/json.hpp>

namespace netleash::netleashd {

struct Daemon;

// request: {"cmd": "explain", "app": ID, "dest": "[udp/|tcp/]host:port|ip:port|[v6]:port"}.
// A malformed request or destination is {"ok": false, "errors": [...]}.
nlohmann::json explain_answer(Daemon& d, const nlohmann::json& request);

}  // namespace netleash::netleashd
