// The identity cache and peer identification over a real Unix socket.
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <string>

#include "netleashd/intake/identity.h"

using netleash::netleashd::identify_peer;
using netleash::netleashd::IdentityCache;

namespace {

int g_reads = 0;

bool fake_reader(int, std::string* app, std::string*) {
  ++g_reads;
  *app = "fake-app";
  return true;
}

// The test process counts as the first process of a tree of app "tree-app"
// when `member` is set, as if its probe had reached the daemon.
struct OneTree final : netleash::netleashd::TreeMembership {
  bool member = true;
  netleash::netleashd::TreeRoot root{"tree-app", getpid(), getuid(), "/usr/bin/root-exe", ""};
  const netleash::netleashd::TreeRoot* root_of(pid_t pid) const override {
    return member && pid == getpid() ? &root : nullptr;
  }
};

bool no_record(int, std::string* app, std::string* error) {
  ++g_reads;
  app->clear();
  error->clear();
  return false;
}

bool broken(int, std::string*, std::string* error) {
  *error = "truncated note";
  return false;
}

}  // namespace

TEST_CASE("an unchanged executable is read once") {
  g_reads = 0;
  IdentityCache cache(fake_reader);
  const int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  struct stat st{};
  REQUIRE(fstat(fd, &st) == 0);
  std::string app, failure;
  cache.lookup(fd, st, &app, &failure);
  cache.lookup(fd, st, &app, &failure);
  CHECK(app == "fake-app");
  CHECK(failure.empty());
  CHECK(g_reads == 1);
  // A rewritten file (new mtime) is read again.
  st.st_mtim.tv_sec += 1;
  cache.lookup(fd, st, &app, &failure);
  CHECK(g_reads == 2);
  CHECK(cache.size() == 2);
  close(fd);
}

TEST_CASE("no record and unreadable records are failures with reasons") {
  struct stat st{};
  std::string app, failure;
  IdentityCache none(no_record);
  none.lookup(-1, st, &app, &failure);
  CHECK(app.empty());
  CHECK(failure == "executable carries no identity record");
  IdentityCache bad(broken);
  bad.lookup(-1, st, &app, &failure);
  CHECK(failure.find("truncated note") != std::string::npos);
}

TEST_CASE("the cache is bounded") {
  IdentityCache cache(fake_reader);
  struct stat st{};
  std::string app, failure;
  for (size_t i = 0; i < IdentityCache::kMaxEntries + 5; ++i) {
    st.st_ino = static_cast<ino_t>(i + 1);
    cache.lookup(-1, st, &app, &failure);
  }
  CHECK(cache.size() <= IdentityCache::kMaxEntries);
}

TEST_CASE("a peer is identified from the kernel's credentials, its executable and its tree") {
  g_reads = 0;
  int pair[2];
  REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, pair) == 0);
  IdentityCache cache(fake_reader);
  netleash::netleashd::FileTrust trust;
  OneTree tree;
  auto who = identify_peer(pair[0], &cache, trust, tree);
  CHECK(who.pid == getpid());
  CHECK(who.uid == getuid());
  CHECK(who.record_app == "fake-app");  // read from /proc/self/exe, i.e. this test binary
  CHECK(who.app == "tree-app");         // but decided under its tree's app
  CHECK_FALSE(who.inherited());         // it is the tree's first process
  CHECK(who.tree.exe == "/usr/bin/root-exe");
  CHECK(g_reads == 1);

  SECTION("a process in no tree gets no app, whatever its executable says") {
    tree.member = false;
    who = identify_peer(pair[0], &cache, trust, tree);
    CHECK(who.app.empty());
    CHECK(who.record_app == "fake-app");
    CHECK(who.failure.find("not in a process tree") != std::string::npos);
  }
  SECTION("a process that is not its tree's first inherits the app") {
    tree.root.pid = getppid();
    who = identify_peer(pair[0], &cache, trust, tree);
    CHECK(who.app == "tree-app");
    CHECK(who.inherited());
  }
  close(pair[0]);
  close(pair[1]);
}

TEST_CASE("a socket without a peer process cannot be identified") {
  const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  IdentityCache cache(fake_reader);
  netleash::netleashd::FileTrust trust;
  OneTree tree;
  const auto who = identify_peer(fd, &cache, trust, tree);
  CHECK(who.app.empty());
  CHECK_FALSE(who.failure.empty());
  close(fd);
}
