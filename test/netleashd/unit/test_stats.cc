// The control socket's counters: decisions, open connections, bytes and
// listeners, all driven by the same records the audit log gets.
#include <catch2/catch.hpp>

#include "netleashd/decide/stats.h"

using netleash::netleashd::AuditEvent;
using netleash::netleashd::CloseEvent;
using netleash::netleashd::Stats;

namespace {

AuditEvent decision(const char* op, bool allow) {
  AuditEvent e;
  e.op = op;
  e.app = "demo";
  e.allow = allow;
  return e;
}

}  // namespace

TEST_CASE("decisions count as allows and denies per app") {
  Stats stats;
  stats.record(decision("connect", true));
  stats.record(decision("connect", true));
  stats.record(decision("sendto", false));
  const auto& c = stats.apps().at("demo");
  CHECK(c.allows == 2);
  CHECK(c.denies == 1);
}

TEST_CASE("open connections end with their close record, bytes accumulate") {
  Stats stats;
  stats.opened("demo", Stats::Kind::kOutboundTcp);
  stats.opened("demo", Stats::Kind::kOutboundTcp);
  stats.opened("demo", Stats::Kind::kInboundTcp);
  stats.opened("demo", Stats::Kind::kUdp);
  CloseEvent tcp;
  tcp.app = "demo";
  tcp.bytes_sent = 10;
  tcp.bytes_received = 20;
  stats.record(tcp);
  CloseEvent inbound = tcp;
  inbound.src = "127.0.0.1:5000";
  inbound.listen = "127.0.0.1:80";
  stats.record(inbound);
  CloseEvent udp = tcp;
  udp.protocol = "udp";
  stats.record(udp);
  const auto& c = stats.apps().at("demo");
  CHECK(c.open_outbound_tcp == 1);
  CHECK(c.open_inbound_tcp == 0);
  CHECK(c.open_udp == 0);
  CHECK(c.bytes_sent == 30);
  CHECK(c.bytes_received == 60);
}

TEST_CASE("the accepting end of a tunnel adds bytes but closes nothing opened here") {
  Stats stats;
  stats.opened("demo", Stats::Kind::kOutboundTcp);
  CloseEvent remote;
  remote.app = "demo";
  remote.peer = "other-host";
  remote.bytes_sent = 5;
  stats.record(remote);
  CHECK(stats.apps().at("demo").open_outbound_tcp == 1);
  CHECK(stats.apps().at("demo").bytes_sent == 5);
}

TEST_CASE("a listener lives from its allowed listen to its close") {
  Stats stats;
  AuditEvent listen = decision("listen", true);
  listen.listen = "127.0.0.1:80";
  listen.dst = "127.0.0.1:40000";
  stats.record(listen);
  REQUIRE(stats.apps().at("demo").listeners.size() == 1);
  CHECK(stats.apps_json()["demo"]["listeners"][0]["exposed"] == "127.0.0.1:40000");
  CloseEvent close;
  close.app = "demo";
  close.listen = listen.listen;
  close.dst = listen.dst;
  stats.record(close);
  CHECK(stats.apps().at("demo").listeners.empty());
  CHECK(stats.apps().at("demo").open_outbound_tcp == 0);
}

TEST_CASE("no reload yet is null, then its time and result") {
  Stats stats;
  CHECK(stats.last_reload_json()["ok"].is_null());
  stats.reloaded(false, 1700000000123);
  CHECK(stats.last_reload_json()["ok"] == false);
  CHECK(stats.last_reload_json()["time"] == "2023-11-14T22:13:20.123Z");
}
