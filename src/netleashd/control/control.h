// The root-only control socket PATH.ctl (SOCK_STREAM, mode 0600): one JSON
// request line in, one JSON response line out, then the connection closes.
//   {"cmd":"status"}  counters per app, listeners, daemon facts
//   {"cmd":"reload"}  the same atomic reload as SIGHUP, with its errors
//   {"cmd":"check"}   validates the policy directory without applying it
//   {"cmd":"explain","app":ID,"dest":DEST}  the decision for a destination now (explain.h)
// Peers are also checked with SO_PEERCRED (uid 0 or the daemon's euid), so a
// mode change on the file alone cannot open it up.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace netleash::netleashd {

struct Daemon;
struct Control;

Control* control_open(Daemon* daemon, const std::string& path, std::string* error);
// The same on a listening socket the service manager created and passed
// (netleashd-control.socket): root owns it and its directory, which a daemon
// running as a dynamic user could not create itself. Left in place at exit.
Control* control_adopt(Daemon* daemon, int fd, const std::string& path, std::string* error);
// Stops accepting, ends open requests, unlinks the socket file it created.
void control_close(Control* control);

// The answer to one request line; separate from the I/O for the unit tests.
nlohmann::json control_answer(Daemon& daemon, const std::string& request_line);

}  // namespace netleash::netleashd
