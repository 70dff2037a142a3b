// DNS messages as netleashd answers them (RFC 1035, RFC 6891): pure parsing
// of one query and building of its reply, no I/O. Fuzzed (fuzz/netleashd/fuzz_dns)
// and unit tested (test/netleashd/unit/test_dns_message.cc).
//
// What a query may be: a header with QR = 0, exactly one question, no answer
// or authority records, and in the additional section at most one EDNS0 OPT
// record (others are skipped). Names: labels of letters, digits, '-' and '_'
// (anything else is refused rather than guessed at: a label holding a '.'
// would read as another name), at most 63 bytes a label and 255 a name;
// compression pointers must point strictly before every position the name
// has visited, which rules out loops, and at most kMaxPointers of them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace netleash::netleashd::dns {

inline constexpr size_t kHeaderSize = 12;
inline constexpr size_t kMaxName = 255;            // wire bytes, final zero included
inline constexpr size_t kMaxPointers = 16;         // per name
inline constexpr size_t kMaxUdpReply = 512;        // without EDNS0
inline constexpr size_t kMaxEdnsUdpReply = 1232;   // the DNS flag day's safe size
inline constexpr size_t kMaxTcpMessage = 65535;    // 2-byte length prefix

inline constexpr uint16_t kTypeA = 1;
inline constexpr uint16_t kTypeAaaa = 28;
inline constexpr uint16_t kTypeOpt = 41;
inline constexpr uint16_t kClassIn = 1;

enum class Rcode : uint8_t {
  kNoError = 0,
  kFormErr = 1,
  kServFail = 2,
  kNxDomain = 3,
  kNotImp = 4,
};

struct Query {
  uint16_t id = 0;
  uint8_t opcode = 0;
  bool recursion_desired = false;
  std::string name;                // dotted, lower-cased, no trailing dot; "" is the root
  std::vector<uint8_t> wire_name;  // as asked (case kept: some resolvers check it), uncompressed
  uint16_t type = 0;
  uint16_t qclass = 0;
  bool edns = false;
  uint16_t edns_payload = 0;  // the requester's UDP payload size (EDNS0)
};

enum class Verdict {
  kQuery,     // well formed: answer it
  kFormErr,   // answer FORMERR (header only)
  kNotImp,    // an opcode other than QUERY: answer NOTIMP (header only)
  kDrop,      // not even a header, or a response (QR = 1): no answer at all
};

struct Parsed {
  Verdict verdict = Verdict::kDrop;
  Query query;          // id, opcode and rd valid unless kDrop; the rest for kQuery
  const char* problem;  // why, unless kQuery; a static string
};

Parsed parse_query(std::span<const uint8_t> message);

// An A (4 bytes) or AAAA (16 bytes) record's data.
struct AddressData {
  uint8_t length = 0;
  uint8_t bytes[16] = {};
};

// The largest reply `query` may get: 512 bytes over UDP, or its EDNS0 size
// (capped at kMaxEdnsUdpReply); kMaxTcpMessage over TCP.
size_t max_reply_size(const Query& query, bool tcp);

// The reply to a well-formed query: the question echoed, then one record per
// address (the question's name through a pointer, its type, class IN, `ttl`),
// as many as fit in `max_size` (*answered says how many), then an OPT record
// when the query had one.
std::vector<uint8_t> build_reply(const Query& query, Rcode rcode, std::span<const AddressData> addresses,
                                 uint32_t ttl, size_t max_size, size_t* answered);

// A header-only reply (FORMERR, NOTIMP) to a query that could not be answered.
std::vector<uint8_t> build_header_reply(const Query& query, Rcode rcode);

}  // namespace netleash::netleashd::dns
