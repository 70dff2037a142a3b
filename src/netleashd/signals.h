// SIGHUP reloads the policies; SIGTERM and SIGINT stop the daemon cleanly.
// SIGPIPE is ignored: a vanished peer is an EPIPE on that connection only.
#pragma once

namespace netleash::netleashd {

struct Daemon;
struct Signals;

Signals* signals_install(Daemon* daemon);
void signals_close(Signals* signals);

}  // namespace netleash::netleashd
