// Start, reload and stop: the daemon's life from main()'s point of view.
#pragma once

#include <string>
#include <vector>

#include "netleashd/daemon.h"
#include "common/daemon_socket.h"

namespace netleash::netleashd {

struct Options {
  std::string socket_path = kDefaultDaemonSocket;
  std::string policy_dir;
  std::string audit_log = "-";
  std::string config_file;
};

// Runs the daemon until SIGTERM/SIGINT; returns the process exit status.
int run_service(const Options& options);

// Loads the policy directory into a fresh set; on failure logs every error
// and leaves the current set in place. Returns whether the set changed; the
// FILE:LINE:COL error lines also go to *errors when given (control socket).
bool reload_policies(Daemon& daemon, std::vector<std::string>* errors = nullptr);

// reload_policies as asked by an operator (SIGHUP, netleashctl reload), which
// also reopens the audit log file (log rotation): systemd hears RELOADING=1
// then READY=1 with the outcome.
bool reload_policies_announced(Daemon& daemon, std::vector<std::string>* errors = nullptr);

// Closes the listeners (removing their socket files), every pending and live
// connection and the resolver; the loop then runs out of work and returns.
void stop_service(Daemon& daemon);

}  // namespace netleash::netleashd
