#include "netleashd/signals.h"

#include <csignal>

#include "netleashd/daemon.h"
#include "netleashd/service.h"
#include "netleashd/systemd_glue.h"

namespace netleash::netleashd {

struct Signals {
  Daemon* daemon;
  uv_signal_t hup{};
  uv_signal_t term{};
  uv_signal_t interrupt{};
  int open_handles = 3;
};

namespace {

void on_hup(uv_signal_t* handle, int /*signum*/) {
  auto* signals = static_cast<Signals*>(handle->data);
  log_message("SIGHUP: reloading policies from %s", signals->daemon->policy_dir.c_str());
  reload_policies_announced(*signals->daemon);
}

void on_stop(uv_signal_t* handle, int signum) {
  auto* signals = static_cast<Signals*>(handle->data);
  log_message("%s: stopping", signum == SIGTERM ? "SIGTERM" : "SIGINT");
  systemd::notify_stopping();
  stop_service(*signals->daemon);
}

void on_closed(uv_handle_t* handle) {
  auto* signals = static_cast<Signals*>(handle->data);
  if (--signals->open_handles == 0) delete signals;
}

}  // namespace

Signals* signals_install(Daemon* daemon) {
  std::signal(SIGPIPE, SIG_IGN);
  auto* signals = new Signals{daemon};
  for (uv_signal_t* handle : {&signals->hup, &signals->term, &signals->interrupt}) {
    uv_signal_init(daemon->loop, handle);
    handle->data = signals;
  }
  uv_signal_start(&signals->hup, on_hup, SIGHUP);
  uv_signal_start(&signals->term, on_stop, SIGTERM);
  uv_signal_start(&signals->interrupt, on_stop, SIGINT);
  return signals;
}

void signals_close(Signals* signals) {
  for (uv_signal_t* handle : {&signals->hup, &signals->term, &signals->interrupt})
    uv_close(reinterpret_cast<uv_handle_t*>(handle), on_closed);
}

}  // namespace netleash::netleashd
