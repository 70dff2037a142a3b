// Audit lines: one JSON object per line, with the fields the brief promises.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "netleashd/decide/audit.h"

using netleash::netleashd::AuditEvent;
using netleash::netleashd::CloseEvent;
using nlohmann::json;

TEST_CASE("timestamps are RFC 3339 UTC with milliseconds") {
  CHECK(netleash::netleashd::format_timestamp(0) == "1970-01-01T00:00:00.000Z");
  CHECK(netleash::netleashd::format_timestamp(1700000000123) == "2023-11-14T22:13:20.123Z");
}

TEST_CASE("a decision line has every required field") {
  AuditEvent e;
  e.op = "connect";
  e.app = "demo";
  e.pid = 42;
  e.uid = 1000;
  e.exe = "/usr/bin/demo";
  e.dst = "[::1]:80";
  e.host = "localhost";
  e.allow = true;
  e.rule = 3;
  e.reason = "outbound rule 3";
  const std::string line = netleash::netleashd::format_audit_line(e, 1000);
  REQUIRE(line.back() == '\n');
  CHECK(line.find('\n') == line.size() - 1);
  const json j = json::parse(line);
  CHECK(j["ts"] == "1970-01-01T00:00:01.000Z");
  CHECK(j["app"] == "demo");
  CHECK(j["pid"] == 42);
  CHECK(j["uid"] == 1000);
  CHECK(j["exe"] == "/usr/bin/demo");
  CHECK(j["op"] == "connect");
  CHECK(j["dst"] == "[::1]:80");
  CHECK(j["host"] == "localhost");
  CHECK(j["verdict"] == "allow");
  CHECK(j["rule"] == 3);
  CHECK(j["reason"] == "outbound rule 3");
}

TEST_CASE("a deny without identity has app null and rule null") {
  AuditEvent e;
  e.op = "resolve";
  e.host = "example.com";
  e.reason = "executable carries no identity record";
  const json j = json::parse(netleash::netleashd::format_audit_line(e, 0));
  CHECK(j["app"].is_null());
  CHECK(j["rule"].is_null());
  // No process known (a peer daemon's request): uid and exe are there, null.
  CHECK(j["uid"].is_null());
  CHECK(j["exe"].is_null());
  CHECK(j["verdict"] == "deny");
  CHECK_FALSE(j.contains("dst"));
}

TEST_CASE("hostile bytes in names cannot break the line") {
  AuditEvent e;
  e.op = "resolve";
  e.host = std::string("a\nb\"c\xff\xfe", 7);
  const std::string line = netleash::netleashd::format_audit_line(e, 0);
  CHECK(line.find('\n') == line.size() - 1);
  CHECK_NOTHROW(json::parse(line));
}

TEST_CASE("a close line carries bytes both ways and the duration") {
  CloseEvent e;
  e.app = "demo";
  e.pid = 7;
  e.dst = "127.0.0.1:80";
  e.bytes_sent = 10;
  e.bytes_received = 20;
  e.duration_ms = 30;
  const json j = json::parse(netleash::netleashd::format_close_line(e, 0));
  CHECK(j["op"] == "close");
  CHECK(j["protocol"] == "tcp");
  CHECK(j["bytes_sent"] == 10);
  CHECK(j["bytes_received"] == 20);
  CHECK(j["duration_ms"] == 30);
}

TEST_CASE("learn mode: a learned allow says so, and every line of the app carries the mode") {
  AuditEvent e;
  e.op = "connect";
  e.app = "demo";
  e.dst = "192.0.2.1:80";
  e.allow = true;
  e.learned = true;
  e.reason = "learn mode, would deny: no rule matches 192.0.2.1:80/tcp";
  json j = json::parse(netleash::netleashd::format_audit_line(e, 0, true));
  CHECK(j["verdict"] == "allow");
  CHECK(j["learned"] == true);
  CHECK(j["mode"] == "learn");
  CHECK(j["rule"].is_null());
  // Enforce mode (the default) adds neither key.
  e.learned = false;
  j = json::parse(netleash::netleashd::format_audit_line(e, 0));
  CHECK_FALSE(j.contains("learned"));
  CHECK_FALSE(j.contains("mode"));
  CloseEvent c;
  c.app = "demo";
  CHECK(json::parse(netleash::netleashd::format_close_line(c, 0, true))["mode"] == "learn");
}

TEST_CASE("inbound lines name their protocol; others have none") {
  AuditEvent e;
  e.op = "listen";
  e.listen = "127.0.0.1:53";
  e.protocol = "udp";
  CHECK(json::parse(netleash::netleashd::format_audit_line(e, 0))["protocol"] == "udp");
  e.op = "connect";
  e.protocol = nullptr;
  CHECK_FALSE(json::parse(netleash::netleashd::format_audit_line(e, 0)).contains("protocol"));
}
