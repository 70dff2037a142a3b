#include "netleashd/control/control.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include "netleashd/daemon.h"
#include "netleashd/control/explain.h"
#include "netleashd/service.h"

namespace netleash::netleashd {

struct Control {
  Daemon* daemon;
  std::string path;
  ino_t inode = 0;  // of the socket file we bound, to unlink only our own
  uv_pipe_t server{};
};

namespace {

constexpr size_t kMaxRequest = 4096;
// A client that does not finish its line in time is dropped: requests are
// tiny, so only a stuck or hostile client is that slow.
constexpr uint64_t kDeadlineMs = 5000;

struct ControlClient {
  Daemon* daemon = nullptr;
  uv_pipe_t pipe{};
  uv_timer_t deadline{};
  uv_write_t write{};
  std::string request;
  std::string response;
  int open_handles = 2;
  bool peer_allowed = false;
  bool answered = false;
};

void on_client_closed(uv_handle_t* handle) {
  auto* c = static_cast<ControlClient*>(handle->data);
  if (--c->open_handles == 0) delete c;
}

void close_client(ControlClient* c) {
  for (auto* h : {reinterpret_cast<uv_handle_t*>(&c->pipe), reinterpret_cast<uv_handle_t*>(&c->deadline)})
    if (!uv_is_closing(h)) uv_close(h, on_client_closed);
}

nlohmann::json errors_json(const std::vector<std::string>& errors) {
  auto out = nlohmann::json::array();
  for (const auto& e : errors) out.push_back(e);
  return out;
}

Stats::LiveBytes live_bytes(const Daemon& d) {
  Stats::LiveBytes live;
  for (const Tracked* t = d.active; t != nullptr; t = t->next) {
    uint64_t sent = 0, received = 0;
    if (const std::string* app = t->live_bytes(&sent, &received)) {
      auto& entry = live[*app];
      entry.first += sent;
      entry.second += received;
    }
  }
  return live;
}

// Each app's mode; app ids that asked with no policy, with the policy they
// most likely meant (perl_app for perl-app).
nlohmann::json apps_status(const Daemon& d) {
  nlohmann::json apps = d.stats.apps_json(live_bytes(d));
  for (auto& [app, entry] : apps.items()) {
    const policy::AppPolicy* policy = d.policies->find(app);
    entry["mode"] = policy == nullptr ? nullptr : nlohmann::json(policy->learn ? "learn" : "enforce");
  }
  return apps;
}

nlohmann::json unknown_apps(const Daemon& d) {
  auto out = nlohmann::json::array();
  for (const auto& [app, counters] : d.stats.apps()) {
    if (app.empty() || d.policies->find(app) != nullptr) continue;
    const std::string closest = d.policies->closest_app(app);
    out.push_back({{"app", app},
                   {"denies", counters.denies},
                   {"did_you_mean", closest.empty() ? nlohmann::json(nullptr) : nlohmann::json(closest)}});
  }
  return out;
}

nlohmann::json status(const Daemon& d) {
  const uint64_t now_ms = loop_now_ms(d);
  return {{"ok", true},
          {"daemon",
           {{"version", NETLEASH_VERSION},
            {"pid", getpid()},
            {"uptime_s", (now_ms - d.started_loop_ms) / 1000},
            {"socket", d.socket_path},
            {"policy_dir", d.policy_dir},
            {"audit_log", d.audit == nullptr ? "" : d.audit->path()},
            {"policies", d.policies->apps().size()},
            {"connections", d.active_count},
            {"last_reload", d.stats.last_reload_json()}}},
          {"apps", apps_status(d)},
          {"unknown_apps", unknown_apps(d)}};
}

void on_written(uv_write_t* req, int /*status*/) {
  close_client(static_cast<ControlClient*>(req->data));
}

void answer(ControlClient* c, const nlohmann::json& response) {
  c->answered = true;
  uv_read_stop(reinterpret_cast<uv_stream_t*>(&c->pipe));
  c->response = response.dump() + "\n";
  uv_buf_t buf = uv_buf_init(c->response.data(), static_cast<unsigned>(c->response.size()));
  c->write.data = c;
  if (uv_write(&c->write, reinterpret_cast<uv_stream_t*>(&c->pipe), &buf, 1, on_written) != 0)
    close_client(c);
}

void on_alloc(uv_handle_t* /*handle*/, size_t /*suggested*/, uv_buf_t* buf) {
  static char chunk[kMaxRequest];
  *buf = uv_buf_init(chunk, sizeof chunk);
}

void on_read(uv_stream_t* stream, ssize_t n, const uv_buf_t* buf) {
  auto* c = static_cast<ControlClient*>(stream->data);
  if (c->answered) return;
  if (n < 0) {
    close_client(c);
    return;
  }
  c->request.append(buf->base, static_cast<size_t>(n));
  const auto newline = c->request.find('\n');
  if (std::min(newline, c->request.size()) >= kMaxRequest) {
    answer(c, {{"ok", false}, {"errors", {"request longer than 4096 bytes"}}});
    return;
  }
  if (newline == std::string::npos) return;
  c->request.resize(newline);
  if (!c->peer_allowed) {
    answer(c, {{"ok", false}, {"errors", {"permission denied: the control socket is root-only"}}});
    return;
  }
  answer(c, control_answer(*c->daemon, c->request));
}

void on_deadline(uv_timer_t* timer) { close_client(static_cast<ControlClient*>(timer->data)); }

bool peer_allowed(uv_pipe_t* pipe) {
  uv_os_fd_t fd;
  if (uv_fileno(reinterpret_cast<uv_handle_t*>(pipe), &fd) != 0) return false;
  ucred cred{};
  socklen_t len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return false;
  return cred.uid == 0 || cred.uid == geteuid();
}

void on_connection(uv_stream_t* server, int status) {
  if (status != 0) return;
  auto* control = static_cast<Control*>(server->data);
  auto* c = new ControlClient;
  c->daemon = control->daemon;
  uv_pipe_init(server->loop, &c->pipe, 0);
  uv_timer_init(server->loop, &c->deadline);
  c->pipe.data = c->deadline.data = c;
  if (uv_accept(server, reinterpret_cast<uv_stream_t*>(&c->pipe)) != 0) {
    close_client(c);
    return;
  }
  // A refused peer still gets its line read before the answer: closing with
  // unread data would reset the connection and lose the explanation.
  c->peer_allowed = peer_allowed(&c->pipe);
  uv_timer_start(&c->deadline, on_deadline, kDeadlineMs, 0);
  uv_read_start(reinterpret_cast<uv_stream_t*>(&c->pipe), on_alloc, on_read);
}

void on_server_closed(uv_handle_t* handle) { delete static_cast<Control*>(handle->data); }

}  // namespace

nlohmann::json control_answer(Daemon& d, const std::string& request_line) {
  const auto request = nlohmann::json::parse(request_line, nullptr, false);
  if (!request.is_object() || !request.contains("cmd") || !request["cmd"].is_string())
    return {{"ok", false}, {"errors", {"expected {\"cmd\": \"status\"|\"reload\"|\"check\"|\"explain\"}"}}};
  const std::string cmd = request["cmd"];
  if (cmd == "status") return status(d);
  if (cmd == "explain") return explain_answer(d, request);
  std::vector<std::string> errors;
  if (cmd == "reload") {
    log_message("control socket: reloading policies from %s", d.policy_dir.c_str());
    const bool ok = reload_policies_announced(d, &errors);
    return {{"ok", ok}, {"policies", d.policies->apps().size()}, {"errors", errors_json(errors)}};
  }
  if (cmd == "check") {
    const auto loaded = policy::PolicySet::load_dir(d.policy_dir, &errors);
    return {{"ok", loaded.has_value()},
            {"policies", loaded ? loaded->apps().size() : 0},
            {"errors", errors_json(errors)}};
  }
  return {{"ok", false}, {"errors", {"unknown cmd: " + cmd}}};
}

namespace {

Control* new_control(Daemon* daemon, const std::string& path) {
  auto* control = new Control{daemon, path};  // inode 0 until we bind the file ourselves
  uv_pipe_init(daemon->loop, &control->server, 0);
  control->server.data = control;
  return control;
}

// Listens once the socket is bound or opened (rc from that step); on any
// failure the handle is closed and `error` says what, prefixed by `what`.
Control* start_listening(Control* control, int rc, const std::string& what, std::string* error) {
  if (rc == 0) rc = uv_listen(reinterpret_cast<uv_stream_t*>(&control->server), 16, on_connection);
  if (rc == 0) return control;
  *error = what + ": " + uv_strerror(rc);
  uv_close(reinterpret_cast<uv_handle_t*>(&control->server), on_server_closed);
  return nullptr;
}

}  // namespace

Control* control_open(Daemon* daemon, const std::string& path, std::string* error) {
  Control* control = new_control(daemon, path);
  // The main listener already proved no other daemon owns this path prefix,
  // so a file left here is stale.
  ::unlink(path.c_str());
  // Created 0600 from the start: no window where others could connect.
  const mode_t old_umask = ::umask(0177);
  const int rc = uv_pipe_bind(&control->server, path.c_str());
  ::umask(old_umask);
  if (start_listening(control, rc, path, error) == nullptr) return nullptr;
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) control->inode = st.st_ino;
  return control;
}

// The file belongs to the service manager: inode stays 0, never unlinked.
Control* control_adopt(Daemon* daemon, int fd, const std::string& path, std::string* error) {
  Control* control = new_control(daemon, path);
  const int rc = uv_pipe_open(&control->server, fd);
  return start_listening(control, rc, path + " (passed by the service manager)", error);
}

void control_close(Control* control) {
  struct stat st {};
  if (control->inode != 0 && ::stat(control->path.c_str(), &st) == 0 && st.st_ino == control->inode)
    ::unlink(control->path.c_str());
  uv_close(reinterpret_cast<uv_handle_t*>(&control->server), on_server_closed);
}

}  // namespace netleash::netleashd
