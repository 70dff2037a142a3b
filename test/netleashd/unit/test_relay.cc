// The relay on a real loop between two socketpairs: bytes arrive intact and
// in order, padding is dropped, a reader that does not read causes
// backpressure instead of memory growth, and EOF is propagated; on the
// copying path and on the splice path (relay_splice.h).
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "netleashd/stream/relay.h"
#include "netleashd/stream/relay_splice.h"

using netleash::netleashd::Relay;
using netleash::netleashd::relay_start;
using netleash::netleashd::Watermarks;

namespace {

struct Harness {
  uv_loop_t loop{};
  int app_pair[2] = {-1, -1};       // [0] relay side, [1] "application"
  int upstream_pair[2] = {-1, -1};  // [0] relay side, [1] "server"
  uv_pipe_t app{}, upstream{};
  Relay relay;
  bool ended = false;
  const char* error = nullptr;

  Harness(size_t high, size_t low, uint64_t padding, uint64_t splice_after = 0) {
    uv_loop_init(&loop);
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, app_pair) == 0);
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, upstream_pair) == 0);
    uv_pipe_init(&loop, &app, 0);
    uv_pipe_init(&loop, &upstream, 0);
    uv_pipe_open(&app, app_pair[0]);
    uv_pipe_open(&upstream, upstream_pair[0]);
    app.data = upstream.data = &relay;
    relay.owner = this;
    relay.marks = Watermarks{high, low};
    relay.discard = padding;
    relay.splice_after = splice_after;
    relay.on_end = [](Relay* r, const char* e) {
      auto* self = static_cast<Harness*>(r->owner);
      self->ended = true;
      self->error = e;
    };
    relay_start(&relay, reinterpret_cast<uv_stream_t*>(&app),
                reinterpret_cast<uv_stream_t*>(&upstream));
  }

  ~Harness() {
    relay_close(&relay, nullptr, nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&app), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&upstream), nullptr);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    close(app_pair[1]);
    close(upstream_pair[1]);
  }

  void spin(int rounds = 50) {
    for (int i = 0; i < rounds; ++i) uv_run(&loop, UV_RUN_NOWAIT);
  }
};

std::string pattern(size_t size) {
  std::string s(size, '\0');
  for (size_t i = 0; i < size; ++i) s[i] = static_cast<char>('a' + (i * 7 + i / 4096) % 26);
  return s;
}

// Writes as much of `data` from `offset` as the socket takes now.
void push(int fd, const std::string& data, size_t* offset) {
  while (*offset < data.size()) {
    const ssize_t n = write(fd, data.data() + *offset, data.size() - *offset);
    if (n <= 0) return;
    *offset += static_cast<size_t>(n);
  }
}

void pull(int fd, std::string* into) {
  char buf[65536];
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) into->append(buf, static_cast<size_t>(n));
}

}  // namespace

TEST_CASE("bytes cross both ways intact, minus the padding") {
  Harness h(256 * 1024, 64 * 1024, 5);
  REQUIRE(write(h.app_pair[1], "PPPPPhello", 10) == 10);
  REQUIRE(write(h.upstream_pair[1], "world", 5) == 5);
  h.spin();
  std::string at_server, at_app;
  pull(h.upstream_pair[1], &at_server);
  pull(h.app_pair[1], &at_app);
  CHECK(at_server == "hello");
  CHECK(at_app == "world");
  CHECK(h.relay.up.bytes == 5);
  CHECK(h.relay.down.bytes == 5);
}

TEST_CASE("a reader that does not read stops the writer at the high-water mark") {
  const size_t high = 64 * 1024, low = 16 * 1024;
  Harness h(high, low, 0);
  const std::string data = pattern(16 << 20);
  size_t offset = 0;
  for (int i = 0; i < 200; ++i) {
    push(h.app_pair[1], data, &offset);
    h.spin(1);
  }
  // The server never read: the relay paused and its queue stayed bounded.
  CHECK(h.relay.up.paused);
  CHECK(h.upstream.write_queue_size <= high + 64 * 1024);
  CHECK(offset < data.size());
  // Now the server reads everything; the relay resumes and nothing is lost.
  std::string received;
  for (int i = 0; i < 100000 && received.size() < data.size(); ++i) {
    push(h.app_pair[1], data, &offset);
    h.spin(1);
    pull(h.upstream_pair[1], &received);
    CHECK(h.upstream.write_queue_size <= high + 64 * 1024);
  }
  CHECK(received.size() == data.size());
  CHECK(received == data);
  CHECK_FALSE(h.ended);
}

TEST_CASE("EOF is propagated as a half-close both ways") {
  Harness h(256 * 1024, 64 * 1024, 0);
  REQUIRE(write(h.app_pair[1], "bye", 3) == 3);
  shutdown(h.app_pair[1], SHUT_WR);
  h.spin();
  std::string at_server;
  pull(h.upstream_pair[1], &at_server);
  CHECK(at_server == "bye");
  char c;
  CHECK(read(h.upstream_pair[1], &c, 1) == 0);  // the server sees EOF
  CHECK_FALSE(h.ended);                         // the other way is still open
  REQUIRE(write(h.upstream_pair[1], "ok", 2) == 2);
  shutdown(h.upstream_pair[1], SHUT_WR);
  h.spin();
  std::string at_app;
  pull(h.app_pair[1], &at_app);
  CHECK(at_app == "ok");
  CHECK(h.ended);
  CHECK(h.error == nullptr);
}

TEST_CASE("a peer vanishing ends the relay") {
  Harness h(256 * 1024, 64 * 1024, 0);
  close(h.upstream_pair[1]);
  h.upstream_pair[1] = -1;
  REQUIRE(write(h.app_pair[1], "data", 4) == 4);
  h.spin();
  CHECK(h.ended);
}

// The splice path is taken by a connection that mostly receives: these
// tests start with bytes from the server (Relay::splice_after = 1).
TEST_CASE("splice: an app that does not read stops the server's side at the pipe, nothing is lost") {
  const size_t high = 64 * 1024, low = 16 * 1024;
  Harness h(high, low, 0, 1);
  const std::string data = pattern(16 << 20);
  size_t offset = 0;
  for (int i = 0; i < 200; ++i) {
    push(h.upstream_pair[1], data, &offset);
    h.spin(1);
  }
  REQUIRE(h.relay.splice != nullptr);  // moved after the first read
  CHECK(h.relay.down.paused);
  CHECK(h.relay.splice->down.queued <= high);
  CHECK(h.app.write_queue_size == 0);
  CHECK(offset < data.size());
  std::string received;
  for (int i = 0; i < 100000 && received.size() < data.size(); ++i) {
    push(h.upstream_pair[1], data, &offset);
    h.spin(1);
    pull(h.app_pair[1], &received);
    CHECK(h.relay.splice->down.queued <= high);
  }
  CHECK(received.size() == data.size());
  CHECK(received == data);
  CHECK(h.relay.down.bytes == data.size());
  CHECK_FALSE(h.ended);
}

TEST_CASE("splice: EOF is propagated once the pipe is drained, both ways") {
  Harness h(64 * 1024, 16 * 1024, 0, 1);
  const std::string down = pattern((2 << 20) + 3), up = pattern(3 << 20);
  size_t down_offset = 0, up_offset = 0;
  std::string at_app, at_server;
  char c;
  for (int i = 0; i < 100000 && at_app.size() < down.size(); ++i) {
    push(h.upstream_pair[1], down, &down_offset);
    h.spin(1);
    pull(h.app_pair[1], &at_app);
  }
  REQUIRE(h.relay.splice != nullptr);
  CHECK(at_app == down);
  for (int i = 0; i < 100000 && at_server.size() < up.size(); ++i) {
    push(h.app_pair[1], up, &up_offset);
    if (up_offset == up.size()) shutdown(h.app_pair[1], SHUT_WR);
    h.spin(1);
    pull(h.upstream_pair[1], &at_server);
  }
  CHECK(at_server == up);
  for (int i = 0; i < 1000 && !h.relay.up.shut; ++i) h.spin(1);
  CHECK(read(h.upstream_pair[1], &c, 1) == 0);  // the server sees EOF
  CHECK_FALSE(h.ended);                         // the other way is still open
  shutdown(h.upstream_pair[1], SHUT_WR);
  for (int i = 0; i < 1000 && !h.ended; ++i) h.spin(1);
  CHECK(read(h.app_pair[1], &c, 1) == 0);
  CHECK(h.ended);
  CHECK(h.error == nullptr);
  CHECK(h.relay.up.bytes == up.size());
  CHECK(h.relay.down.bytes == down.size());
}

TEST_CASE("splice: a connection that mostly sends keeps copying") {
  Harness h(64 * 1024, 16 * 1024, 0, 1);
  const std::string up = pattern(1 << 20);
  size_t offset = 0;
  std::string at_server;
  REQUIRE(write(h.upstream_pair[1], "x", 1) == 1);
  for (int i = 0; i < 100000 && at_server.size() < up.size(); ++i) {
    push(h.app_pair[1], up, &offset);
    h.spin(1);
    pull(h.upstream_pair[1], &at_server);
  }
  CHECK(at_server == up);
  CHECK(h.relay.splice == nullptr);
}
