#include "netleashd/service.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>

#include "netleashd/control/control.h"
#include "common/elf/identity_record.h"
#include "netleashd/intake/listener.h"
#include "netleashd/intake/pending.h"
#include "netleashd/dns/resolver.h"
#include "netleashd/signals.h"
#include "netleashd/systemd_glue.h"
#include "netleashd/tunnel/tunnel_links.h"

namespace netleash::netleashd {
namespace {

constexpr uint64_t kExpiryPeriodMs = 60 * 1000;

uint64_t now_unix_ms() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

void on_expiry(uv_timer_t* timer) {
  auto* d = static_cast<Daemon*>(timer->data);
  d->resolutions.expire(uv_now(d->loop) / 1000);
}

// Where the process trees wait across a restart (tree_state.h): the unit's
// RuntimeDirectory= (systemd sets RUNTIME_DIRECTORY; the socket's directory
// belongs to the socket unit), else next to the socket.
std::string tree_state_path(const std::string& socket_path) {
  const char* runtime = std::getenv("RUNTIME_DIRECTORY");
  return runtime != nullptr && runtime[0] == '/' ? std::string(runtime) + "/trees.json"
                                                 : socket_path + ".trees";
}

// Everything that start() opened, in reverse; safe to call on a partial start.
void close_all(Daemon& d) {
  if (d.stream_listener != nullptr) listener_close(d.stream_listener);
  if (d.seqpacket_listener != nullptr) listener_close(d.seqpacket_listener);
  d.stream_listener = d.seqpacket_listener = nullptr;
  if (d.control != nullptr) control_close(d.control);
  d.control = nullptr;
  if (d.pending != nullptr) pending_queue_close(d.pending);
  d.pending = nullptr;
  d.trees.stop(tree_state_path(d.socket_path));
  // stop() only starts closing; the object unlinks itself from its close callback.
  for (Tracked* t = d.active; t != nullptr; t = t->next) t->stop();
  if (d.resolver != nullptr) d.resolver->close();
  d.resolver = nullptr;
  tunnel_links_stop(d);
  if (d.signals != nullptr) signals_close(d.signals);
  d.signals = nullptr;
  // start() initialises the timer first; before that there is nothing to close.
  auto* expiry = reinterpret_cast<uv_handle_t*>(&d.expiry);
  if (expiry->loop != nullptr && !uv_is_closing(expiry)) uv_close(expiry, nullptr);
}

// Loads DIR, printing every warning and error line to stderr (where an
// operator running the daemon, or journald, sees them).
std::optional<policy::PolicySet> load_policies(const std::string& dir,
                                               std::vector<std::string>* errors) {
  std::vector<std::string> warnings;
  auto loaded = policy::PolicySet::load_dir(dir, errors, &warnings);
  for (const auto& line : warnings) std::fprintf(stderr, "%s\n", line.c_str());
  if (!loaded)
    for (const auto& line : *errors) std::fprintf(stderr, "%s\n", line.c_str());
  return loaded;
}

bool start(Daemon& d, const Options& options, std::string* error) {
  uv_timer_init(d.loop, &d.expiry);
  d.expiry.data = &d;
  uv_timer_start(&d.expiry, on_expiry, kExpiryPeriodMs, kExpiryPeriodMs);
  d.resolver = Resolver::create(d.loop, d.config.resolver, error);
  if (d.resolver == nullptr) return false;
  if (!tunnel_links_start(d, error)) return false;
  d.pending = pending_queue_create(&d);
  systemd::ActivatedSockets activated;
  if (!systemd::take_activated_sockets(options.socket_path, &activated, error)) return false;
  d.trees.restore(activated.stored, tree_state_path(options.socket_path));
  if (activated.activated()) {
    d.stream_listener = listener_adopt(&d, activated.stream, options.socket_path, Channel::kStream);
    d.seqpacket_listener = listener_adopt(&d, activated.seqpacket, options.socket_path + ".dgram",
                                          Channel::kSeqpacket);
  } else {
    d.stream_listener = listener_open(&d, options.socket_path, Channel::kStream, error);
    if (d.stream_listener == nullptr) return false;
    d.seqpacket_listener =
        listener_open(&d, options.socket_path + ".dgram", Channel::kSeqpacket, error);
    if (d.seqpacket_listener == nullptr) return false;
  }
  // The control socket comes from netleashd-control.socket under systemd
  // (root creates it, mode 0600, where a dynamic user could not); otherwise
  // the daemon binds it. Enforcement does not depend on it, so a daemon that
  // can do neither serves without it.
  std::string control_error;
  const std::string control_path = options.socket_path + ".ctl";
  d.control = activated.control >= 0 ? control_adopt(&d, activated.control, control_path, &control_error)
                                      : control_open(&d, control_path, &control_error);
  if (d.control == nullptr)
    log_message("no control socket (netleashctl will not reach this daemon): %s",
                control_error.c_str());
  d.signals = signals_install(&d);
  return true;
}

}  // namespace

bool reload_policies(Daemon& d, std::vector<std::string>* errors_out) {
  // The operator may have changed owners or modes above trusted libraries.
  d.trust.forget();
  std::vector<std::string> errors;
  auto loaded = load_policies(d.policy_dir, &errors);
  d.stats.reloaded(loaded.has_value(), now_unix_ms());
  if (errors_out != nullptr) *errors_out = errors;
  if (!loaded) {
    log_message("policies in %s are invalid; keeping the %zu loaded before",
                d.policy_dir.c_str(), d.policies->apps().size());
    return false;
  }
  // Names resolved for apps that lost their policy can never match again.
  for (const auto& app : d.policies->apps())
    if (loaded->find(app.app) == nullptr) d.resolutions.forget(app.app);
  d.policies = std::make_shared<const policy::PolicySet>(std::move(*loaded));
  log_message("loaded %zu policies from %s", d.policies->apps().size(), d.policy_dir.c_str());
  return true;
}

bool reload_policies_announced(Daemon& d, std::vector<std::string>* errors) {
  systemd::notify_reloading();
  // logrotate renames the log and then asks for a reload (postrotate).
  std::string audit_error;
  if (d.audit != nullptr && !d.audit->reopen(&audit_error))
    log_message("cannot reopen the audit log, still writing to the old file: %s",
                audit_error.c_str());
  const bool reloaded = reload_policies(d, errors);
  const std::string count = std::to_string(d.policies->apps().size());
  systemd::notify_ready(reloaded ? count + " policies loaded"
                                 : "reload failed, keeping " + count + " policies");
  return reloaded;
}

void stop_service(Daemon& d) {
  if (d.stopping) return;
  d.stopping = true;
  close_all(d);
}

int run_service(const Options& options) {
  // A start-up error is its message and exit status 1, nothing else (an
  // abort would be a crash loop under Restart=on-failure). The configuration
  // and the policies are read before the loop owns anything; what start()
  // opened before it failed is closed again by close_all().
  Config config;
  std::string error;
  if (!options.config_file.empty() && !load_config(options.config_file, &config, &error)) {
    std::fprintf(stderr, "netleashd: %s\n", error.c_str());
    return 1;
  }
  std::vector<std::string> policy_errors;
  auto policies = load_policies(options.policy_dir, &policy_errors);
  if (!policies) return 1;
  uv_loop_t loop;
  uv_loop_init(&loop);
  int status = 0;
  {
    Daemon d(&loop, config, &elf::read_app_id);
    d.socket_path = options.socket_path;
    d.policy_dir = options.policy_dir;
    d.started_loop_ms = uv_now(&loop);
    d.policies = std::make_shared<const policy::PolicySet>(std::move(*policies));
    d.stats.reloaded(true, now_unix_ms());
    d.audit = Audit::open(&loop, options.audit_log, &error);
    if (d.audit != nullptr) {
      d.audit->observe(&d.stats);
      d.audit->follow(&d.policies);
    }
    if (d.audit == nullptr || !start(d, options, &error)) {
      std::fprintf(stderr, "netleashd: %s\n", error.c_str());
      d.stopping = true;
      close_all(d);
      status = 1;
    } else {
      log_message("loaded %zu policies from %s", d.policies->apps().size(), d.policy_dir.c_str());
      log_message("listening on %s and %s.dgram", options.socket_path.c_str(),
                  options.socket_path.c_str());
      systemd::notify_ready(std::to_string(d.policies->apps().size()) + " policies loaded");
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    // Close audit lines are written from close callbacks: flush after them.
    if (d.audit != nullptr) d.audit->close();
    uv_run(&loop, UV_RUN_DEFAULT);
  }
  uv_loop_close(&loop);
  return status;
}

}  // namespace netleash::netleashd
