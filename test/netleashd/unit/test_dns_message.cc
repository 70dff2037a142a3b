// The DNS query parser and reply builder (src/netleashd/dns/message.h).
#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "netleashd/dns/message.h"

using namespace netleash::netleashd::dns;
using Bytes = std::vector<uint8_t>;

namespace {

void put16(Bytes* b, uint16_t v) {
  b->push_back(static_cast<uint8_t>(v >> 8));
  b->push_back(static_cast<uint8_t>(v));
}

Bytes header(uint16_t id, uint16_t flags, uint16_t qd, uint16_t an = 0, uint16_t ns = 0, uint16_t ar = 0) {
  Bytes b;
  for (uint16_t v : {id, flags, qd, an, ns, ar}) put16(&b, v);
  return b;
}

Bytes name(const std::string& dotted) {
  Bytes b;
  size_t start = 0;
  while (start < dotted.size()) {
    size_t dot = dotted.find('.', start);
    if (dot == std::string::npos) dot = dotted.size();
    b.push_back(static_cast<uint8_t>(dot - start));
    b.insert(b.end(), dotted.begin() + start, dotted.begin() + dot);
    start = dot + 1;
  }
  b.push_back(0);
  return b;
}

Bytes opt_record(uint16_t payload) {
  Bytes b{0};
  put16(&b, kTypeOpt);
  put16(&b, payload);
  put16(&b, 0);
  put16(&b, 0);
  put16(&b, 0);
  return b;
}

// A query as dig sends it: RD set, one question, optionally an OPT record.
Bytes query(const std::string& qname, uint16_t type, bool edns = false, uint16_t payload = 1232) {
  Bytes b = header(0x1234, 0x0100, 1, 0, 0, edns ? 1 : 0);
  Bytes n = name(qname);
  b.insert(b.end(), n.begin(), n.end());
  put16(&b, type);
  put16(&b, kClassIn);
  if (edns) {
    Bytes o = opt_record(payload);
    b.insert(b.end(), o.begin(), o.end());
  }
  return b;
}

uint16_t at16(const Bytes& b, size_t i) { return static_cast<uint16_t>(b[i] << 8 | b[i + 1]); }

}  // namespace

TEST_CASE("dns: a plain query is parsed, its name lower-cased, its wire name kept") {
  const Parsed p = parse_query(query("Allowed.NLtest", kTypeA));
  REQUIRE(p.verdict == Verdict::kQuery);
  CHECK(p.query.id == 0x1234);
  CHECK(p.query.recursion_desired);
  CHECK(p.query.name == "allowed.nltest");
  CHECK(p.query.wire_name == name("Allowed.NLtest"));
  CHECK(p.query.type == kTypeA);
  CHECK(p.query.qclass == kClassIn);
  CHECK_FALSE(p.query.edns);
  CHECK(max_reply_size(p.query, false) == 512);
  CHECK(max_reply_size(p.query, true) == 65535);
}

TEST_CASE("dns: an EDNS0 OPT record is tolerated and sets the reply size") {
  Parsed p = parse_query(query("a.nltest", kTypeAaaa, true, 4096));
  REQUIRE(p.verdict == Verdict::kQuery);
  CHECK(p.query.edns);
  CHECK(max_reply_size(p.query, false) == kMaxEdnsUdpReply);
  p = parse_query(query("a.nltest", kTypeAaaa, true, 100));
  CHECK(max_reply_size(p.query, false) == 512);
  // Two OPT records, or one not owned by the root, are malformed.
  Bytes two = query("a.nltest", kTypeA, true);
  two[11] = 2;
  Bytes o = opt_record(512);
  two.insert(two.end(), o.begin(), o.end());
  CHECK(parse_query(two).verdict == Verdict::kFormErr);
}

TEST_CASE("dns: the root and the longest names") {
  CHECK(parse_query(query("", kTypeA)).query.name.empty());
  const std::string label63(63, 'a');
  // 4 x 63-byte labels = 4 x 64 + 1 = 257 bytes: too long; 3 labels + 61 = 255: fine.
  const std::string longest = label63 + "." + label63 + "." + label63 + "." + std::string(61, 'b');
  CHECK(parse_query(query(longest, kTypeA)).verdict == Verdict::kQuery);
  CHECK(parse_query(query(longest + "b", kTypeA)).problem == std::string("name longer than 255 bytes"));
  Bytes label64 = query(std::string(64, 'a'), kTypeA);
  CHECK(parse_query(label64).verdict == Verdict::kFormErr);  // 64 = 0x40: an extended label type
}

TEST_CASE("dns: labels with bytes that would change the name's meaning are refused") {
  for (const char* bad : {"a\\.b", "a b", "x\xff"}) {
    Bytes q = header(1, 0, 1);
    const std::string label(bad);
    q.push_back(static_cast<uint8_t>(label.size()));
    q.insert(q.end(), label.begin(), label.end());
    q.push_back(0);
    put16(&q, kTypeA);
    put16(&q, kClassIn);
    CHECK(parse_query(q).verdict == Verdict::kFormErr);
  }
  Bytes dot = query("ab.nltest", kTypeA);
  dot[13] = '.';  // one label "a.b"... would read as the name a.b.nltest
  CHECK(parse_query(dot).verdict == Verdict::kFormErr);
}

TEST_CASE("dns: compression pointers must point backwards, so no loop is possible") {
  // The question's name pointing at itself.
  Bytes self = header(1, 0, 1);
  self.push_back(0xC0);
  self.push_back(12);
  put16(&self, kTypeA);
  put16(&self, kClassIn);
  CHECK(parse_query(self).problem == std::string("compression pointer does not point backwards"));
  // Into the header.
  self[13] = 2;
  CHECK(parse_query(self).verdict == Verdict::kFormErr);
  // An additional record whose name loops: label, then a pointer back to that label.
  Bytes loop = query("a.nltest", kTypeA);
  loop[11] = 1;
  const size_t at = loop.size();
  loop.push_back(1);
  loop.push_back('x');
  loop.push_back(0xC0);
  loop.push_back(static_cast<uint8_t>(at));
  for (int i = 0; i < 5; ++i) put16(&loop, 0);
  CHECK(parse_query(loop).problem == std::string("compression pointer does not point backwards"));
  // A pointer back into the question is fine (an ordinary additional record).
  Bytes fine = query("a.nltest", kTypeA);
  fine[11] = 1;
  fine.push_back(0xC0);
  fine.push_back(12);
  put16(&fine, 1);
  put16(&fine, 1);
  put16(&fine, 0);
  put16(&fine, 0);
  put16(&fine, 0);
  CHECK(parse_query(fine).verdict == Verdict::kQuery);
}

TEST_CASE("dns: truncated messages") {
  const Bytes full = query("a.nltest", kTypeA, true);
  for (size_t size = 0; size < full.size(); ++size) {
    const Parsed p = parse_query({full.data(), size});
    CHECK(p.verdict == (size < kHeaderSize ? Verdict::kDrop : Verdict::kFormErr));
  }
  Bytes longer = full;
  longer.push_back(0);
  CHECK(parse_query(longer).problem == std::string("bytes after the last record"));
}

TEST_CASE("dns: multiple questions, records in a query, responses and other opcodes") {
  Bytes two = query("a.nltest", kTypeA);
  two[5] = 2;
  CHECK(parse_query(two).problem == std::string("not exactly one question"));
  two[5] = 0;
  CHECK(parse_query(two).verdict == Verdict::kFormErr);
  Bytes answers = query("a.nltest", kTypeA);
  answers[7] = 1;
  CHECK(parse_query(answers).verdict == Verdict::kFormErr);
  Bytes response = query("a.nltest", kTypeA);
  response[2] |= 0x80;
  CHECK(parse_query(response).verdict == Verdict::kDrop);
  Bytes update = query("a.nltest", kTypeA);
  update[2] = 5 << 3;
  const Parsed p = parse_query(update);
  CHECK(p.verdict == Verdict::kNotImp);
  const Bytes reply = build_header_reply(p.query, Rcode::kNotImp);
  CHECK(reply == Bytes{0x12, 0x34, 0xA8, 0x84, 0, 0, 0, 0, 0, 0, 0, 0});
}

TEST_CASE("dns: a reply echoes the question and carries the records with their TTL") {
  const Parsed p = parse_query(query("Allowed.nltest", kTypeA, true));
  const AddressData addresses[] = {{4, {10, 1, 2, 3}}, {4, {10, 1, 2, 4}}};
  size_t answered = 0;
  const Bytes reply = build_reply(p.query, Rcode::kNoError, addresses, 300, 512, &answered);
  CHECK(answered == 2);
  CHECK(at16(reply, 0) == 0x1234);
  CHECK(at16(reply, 2) == 0x8180);  // QR RD RA, NOERROR
  CHECK(at16(reply, 4) == 1);
  CHECK(at16(reply, 6) == 2);
  CHECK(at16(reply, 10) == 1);  // OPT
  const Bytes qname = name("Allowed.nltest");
  CHECK(Bytes(reply.begin() + 12, reply.begin() + 12 + qname.size()) == qname);
  size_t at = 12 + qname.size() + 4;
  CHECK(at16(reply, at) == 0xC00C);
  CHECK(at16(reply, at + 2) == kTypeA);
  CHECK(at16(reply, at + 6) == 0);
  CHECK(at16(reply, at + 8) == 300);
  CHECK(at16(reply, at + 10) == 4);
  CHECK(reply[at + 15] == 3);
  CHECK(reply.size() == at + 2 * 16 + 11);
  // The reply parses as a DNS message of its own (as a response it is dropped, never answered).
  CHECK(parse_query(reply).verdict == Verdict::kDrop);
}

TEST_CASE("dns: records that do not fit the size are left out, never cut") {
  const Parsed p = parse_query(query("a.nltest", kTypeAaaa));
  std::vector<AddressData> many(40, AddressData{16, {0x20, 0x01, 0x0d, 0xb8}});
  size_t answered = 0;
  const Bytes reply = build_reply(p.query, Rcode::kNoError, many, 60, 512, &answered);
  CHECK(answered == (512 - 12 - 10 - 4) / 28);
  CHECK(reply.size() <= 512);
  CHECK(at16(reply, 6) == answered);
  const Bytes nx = build_reply(p.query, Rcode::kNxDomain, {}, 0, 512, &answered);
  CHECK(answered == 0);
  CHECK(at16(nx, 2) == 0x8183);
}
