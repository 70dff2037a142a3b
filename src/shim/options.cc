// getsockopt/setsockopt on a virtual socket. The app must see an Internet
// socket: SO_TYPE/SO_DOMAIN/SO_PROTOCOL describe the virtual one, SO_ERROR
// reports the upstream connect, TCP options are remembered and sent to the
// daemon (Request::options), and options a unix socket cannot take are
// stored and echoed back instead of failing with a surprising errno.
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>

#include "shim/internal.h"
#include "shim/real.h"

using namespace netleash::shim;

namespace netleash::shim {
namespace {

// Linux defaults (net.ipv4.tcp_*) that getsockopt shows before the app sets anything.
constexpr int kDefaultKeepIdle = 7200;
constexpr int kDefaultKeepInterval = 75;
constexpr int kDefaultKeepCount = 9;
constexpr int kDefaultSendBuffer = 16384;
constexpr int kDefaultReceiveBuffer = 131072;

using Opts = wire::SocketOptions;

// The int-valued options the daemon applies, and where they live.
int32_t* known_field(VSocket* vs, int level, int name, uint32_t* bit) {
  Opts& o = vs->options;
  if (level == SOL_SOCKET && name == SO_KEEPALIVE) return *bit = Opts::kKeepAlive, &o.keep_alive;
  if (level == SOL_SOCKET && name == SO_SNDBUF) return *bit = Opts::kSendBuffer, &o.send_buffer;
  if (level == SOL_SOCKET && name == SO_RCVBUF) return *bit = Opts::kReceiveBuffer, &o.receive_buffer;
  if (level != IPPROTO_TCP || vs->type != SOCK_STREAM) return nullptr;
  if (name == TCP_NODELAY) return *bit = Opts::kNoDelay, &o.no_delay;
  if (name == TCP_KEEPIDLE) return *bit = Opts::kKeepIdle, &o.keep_idle;
  if (name == TCP_KEEPINTVL) return *bit = Opts::kKeepInterval, &o.keep_interval;
  if (name == TCP_KEEPCNT) return *bit = Opts::kKeepCount, &o.keep_count;
  return nullptr;
}

int known_default(int level, int name) {
  if (level == SOL_SOCKET) return name == SO_SNDBUF ? kDefaultSendBuffer : name == SO_RCVBUF ? kDefaultReceiveBuffer : 0;
  switch (name) {
    case TCP_KEEPIDLE: return kDefaultKeepIdle;
    case TCP_KEEPINTVL: return kDefaultKeepInterval;
    case TCP_KEEPCNT: return kDefaultKeepCount;
    default: return 0;
  }
}

// Options that only the daemon's real socket could honour, whatever the
// unix socket says about them.
bool is_internet_level(int level) { return level == IPPROTO_IP || level == IPPROTO_IPV6 || level == IPPROTO_TCP || level == IPPROTO_UDP; }

StoredOption* find_stored(VSocket* vs, int level, int name, bool create) {
  StoredOption* free_slot = nullptr;
  for (StoredOption& s : vs->stored) {
    if (s.length != 0 && s.level == level && s.name == name) return &s;
    if (s.length == 0 && free_slot == nullptr) free_slot = &s;
  }
  if (!create) return nullptr;
  return free_slot != nullptr ? free_slot : &vs->stored[static_cast<unsigned>(name) % kStoredOptions];
}

int get_int(const void* value, socklen_t len, int* out) {
  if (value == nullptr) return EFAULT;
  if (len < static_cast<socklen_t>(sizeof(int))) return EINVAL;
  memcpy(out, value, sizeof *out);
  return 0;
}

int put_int(int v, void* value, socklen_t* len) {
  if (value == nullptr || len == nullptr) return EFAULT;
  socklen_t n = *len < static_cast<socklen_t>(sizeof v) ? *len : static_cast<socklen_t>(sizeof v);
  memcpy(value, &v, n);
  *len = n;
  return 0;
}

}  // namespace

void options_restore_sndbuf(VSocket* vs, int fd) {
  int restore = vs->app_sndbuf != 0 ? vs->app_sndbuf : vs->saved_sndbuf / 2;  // the kernel doubles it again
  if (restore > 0) NL_REAL(setsockopt)(fd, SOL_SOCKET, SO_SNDBUF, &restore, sizeof restore);
  vs->saved_sndbuf = 0;
}

int options_set(VSocket* vs, int fd, int level, int name, const void* value, socklen_t len) {
  uint32_t bit = 0;
  if (int32_t* field = known_field(vs, level, name, &bit)) {
    int v;
    if (int err = get_int(value, len, &v)) return fail(err);
    *field = v;
    __atomic_fetch_or(&vs->options.set, bit, __ATOMIC_RELAXED);
    if (name == SO_SNDBUF && level == SOL_SOCKET) {
      vs->app_sndbuf = v;
      // While the padding trick runs, the unix buffer must stay small; the
      // app's value is applied when the connect completes.
      if (load_state(vs) == State::kTcpConnecting) return 0;
    }
    // Buffer sizes also shape the unix leg (backpressure); keepalive and
    // TCP options mean nothing there.
    if (level == SOL_SOCKET && (name == SO_SNDBUF || name == SO_RCVBUF)) NL_REAL(setsockopt)(fd, level, name, value, len);
    return 0;
  }
  if (level == SOL_SOCKET) {
    int r = NL_REAL(setsockopt)(fd, level, name, value, len);
    if (r == 0 || (errno != ENOPROTOOPT && errno != EOPNOTSUPP)) return r;
  } else if (!is_internet_level(level)) {
    return fail(ENOPROTOOPT);
  }
  if (value == nullptr && len > 0) return fail(EFAULT);
  StoredOption* s = find_stored(vs, level, name, true);
  socklen_t n = len < static_cast<socklen_t>(sizeof s->value) ? len : static_cast<socklen_t>(sizeof s->value);
  s->level = level;
  s->name = name;
  memset(s->value, 0, sizeof s->value);
  if (n > 0) memcpy(s->value, value, n);
  s->length = n > 0 ? static_cast<uint32_t>(n) : 1;
  return 0;
}

int options_get(VSocket* vs, int fd, int level, int name, void* value, socklen_t* len) {
  if (len == nullptr) return fail(EFAULT);
  if (level == SOL_SOCKET) {
    switch (name) {
      case SO_TYPE: return put_int(vs->type, value, len) ? fail(EFAULT) : 0;
      case SO_DOMAIN: return put_int(vs->domain, value, len) ? fail(EFAULT) : 0;
      case SO_PROTOCOL: return put_int(vs->protocol, value, len) ? fail(EFAULT) : 0;
      case SO_ACCEPTCONN: return put_int(load_state(vs) == State::kListening, value, len) ? fail(EFAULT) : 0;
      case SO_ERROR: {
        int err = vs->type == SOCK_STREAM ? tcp_take_error(vs, fd) : 0;
        if (err == 0) {
          // A pending error on the unix leg (say ECONNRESET when the relay
          // ended abruptly) is the connection's error while it is up; after
          // a failed connect it is only the echo of what was reported.
          int leg = 0;
          socklen_t l = sizeof leg;
          NL_REAL(getsockopt)(fd, level, name, &leg, &l);
          if (tcp_is_established(load_state(vs)) || vs->type != SOCK_STREAM) err = leg;
        }
        return put_int(err, value, len) ? fail(EFAULT) : 0;
      }
      default: break;
    }
  }
  uint32_t bit = 0;
  if (int32_t* field = known_field(vs, level, name, &bit)) {
    int v = (vs->options.set & bit) ? *field : known_default(level, name);
    if ((vs->options.set & bit) && level == SOL_SOCKET && (name == SO_SNDBUF || name == SO_RCVBUF)) v *= 2;  // as Linux reports
    if (level == SOL_SOCKET && name == SO_KEEPALIVE) v = v != 0;
    return put_int(v, value, len) ? fail(EFAULT) : 0;
  }
  if (StoredOption* s = find_stored(vs, level, name, false)) {
    if (value == nullptr) return fail(EFAULT);
    socklen_t n = *len < static_cast<socklen_t>(s->length) ? *len : static_cast<socklen_t>(s->length);
    memcpy(value, s->value, n);
    *len = n;
    return 0;
  }
  if (level == SOL_SOCKET) return NL_REAL(getsockopt)(fd, level, name, value, len);
  if (!is_internet_level(level)) return fail(ENOPROTOOPT);
  // Never set: report zeroes (TCP_INFO and friends included) rather than an
  // error no TCP socket would give.
  if (value == nullptr) return fail(EFAULT);
  memset(value, 0, *len);
  if (*len > static_cast<socklen_t>(sizeof(int)) && name != TCP_INFO) *len = sizeof(int);
  return 0;
}

}  // namespace netleash::shim

NL_EXPORT int setsockopt(int fd, int level, int name, const void* value, socklen_t len) noexcept {
  VSocket* vs = fd_lookup(fd);
  if (vs == nullptr) return NL_REAL(setsockopt)(fd, level, name, value, len);
  return options_set(vs, fd, level, name, value, len);
}

NL_EXPORT int getsockopt(int fd, int level, int name, void* value, socklen_t* len) noexcept {
  VSocket* vs = fd_lookup(fd);
  if (vs == nullptr) return NL_REAL(getsockopt)(fd, level, name, value, len);
  return options_get(vs, fd, level, name, value, len);
}
