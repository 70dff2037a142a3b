// The responder's replay guard with a reorder window: racing handshakes of
// one peer may arrive out of order, replays are still refused exactly.
#include <catch2/catch.hpp>

#include "netleashd/tunnel/replay_guard.h"

using namespace netleash::tunnel;

namespace {
Tai64n at(int64_t seconds, uint32_t nanos = 0) { return tai64n_from_unix(1700000000 + seconds, nanos); }
}  // namespace

TEST_CASE("Out-of-order first messages within the window are accepted once", "[replay]") {
  ReplayGuard guard(ReorderWindow{2'000'000'000, 8});
  const PublicKey peer{1};
  guard.add_peer(peer);
  using V = ReplayGuard::Verdict;
  CHECK(guard.check_and_record(peer, at(10)) == V::accept);
  CHECK(guard.check_and_record(peer, at(9, 500)) == V::accept);   // older, inside the window
  CHECK(guard.check_and_record(peer, at(9, 500)) == V::replayed); // but only once
  CHECK(guard.check_and_record(peer, at(10)) == V::replayed);
  CHECK(guard.check_and_record(peer, at(7)) == V::replayed);      // outside the window
  CHECK(guard.check_and_record(peer, at(20)) == V::accept);
  CHECK(guard.check_and_record(peer, at(10, 1)) == V::replayed);  // fell out with the floor
  CHECK(guard.check_and_record(PublicKey{2}, at(30)) == V::unknown_peer);
}

TEST_CASE("The count bound raises the floor instead of forgetting replays", "[replay]") {
  ReplayGuard guard(ReorderWindow{60'000'000'000, 4});
  const PublicKey peer{1};
  guard.add_peer(peer);
  for (int i = 0; i < 10; ++i) REQUIRE(guard.check_and_record(peer, at(i)) == ReplayGuard::Verdict::accept);
  for (int i = 0; i < 10; ++i) CHECK(guard.check_and_record(peer, at(i)) == ReplayGuard::Verdict::replayed);
  CHECK(guard.check_and_record(peer, at(4, 1)) == ReplayGuard::Verdict::replayed);  // below the floor
  CHECK(guard.check_and_record(peer, at(8, 1)) == ReplayGuard::Verdict::accept);
}

TEST_CASE("Without a window timestamps must strictly increase", "[replay]") {
  ReplayGuard guard;
  const PublicKey peer{1};
  guard.add_peer(peer);
  CHECK(guard.check_and_record(peer, at(5)) == ReplayGuard::Verdict::accept);
  CHECK(guard.check_and_record(peer, at(4)) == ReplayGuard::Verdict::replayed);
  CHECK(guard.check_and_record(peer, at(5)) == ReplayGuard::Verdict::replayed);
  CHECK(guard.check_and_record(peer, at(6)) == ReplayGuard::Verdict::accept);
}
