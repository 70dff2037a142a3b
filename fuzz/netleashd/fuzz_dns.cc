// libFuzzer target for the DNS messages netleashd answers
// (src/netleashd/dns/message.cc): every byte string is parsed as a query, and
// each accepted one gets replies built for it, as dns/answer.cc does. Nothing
// may crash, loop, read out of bounds or hit undefined behaviour; a reply
// never exceeds its size limit and is itself never taken for a query.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "netleashd/dns/message.h"

using namespace netleash::netleashd::dns;

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const Parsed parsed = parse_query({data, size});
  if (parsed.verdict == Verdict::kDrop) {
    check(parsed.problem != nullptr);
    return 0;
  }
  const std::vector<uint8_t> header = build_header_reply(parsed.query, Rcode::kFormErr);
  check(header.size() == kHeaderSize && header[0] == data[0] && header[1] == data[1]);
  if (parsed.verdict != Verdict::kQuery) {
    check(parsed.problem != nullptr);
    return 0;
  }
  const Query& query = parsed.query;
  check(query.wire_name.size() <= kMaxName && query.name.size() < kMaxName);
  const AddressData addresses[] = {{4, {192, 0, 2, 1}}, {16, {0x20, 0x01, 0x0d, 0xb8}}, {4, {10, 0, 0, 1}}};
  for (const bool tcp : {false, true}) {
    const size_t limit = max_reply_size(query, tcp);
    check(limit >= kMaxUdpReply && limit <= kMaxTcpMessage);
    size_t answered = 0;
    const std::vector<uint8_t> reply = build_reply(query, Rcode::kNoError, addresses, 60, limit, &answered);
    check(reply.size() <= limit && answered <= 3);
    check(parse_query(reply).verdict == Verdict::kDrop);  // a response: never answered in turn
  }
  return 0;
}
