#include "netleashd/dns/message.h"

#include <algorithm>

namespace netleash::netleashd::dns {
namespace {

constexpr uint16_t kFlagResponse = 0x8000;
constexpr uint16_t kFlagRecursionDesired = 0x0100;
constexpr uint16_t kFlagRecursionAvailable = 0x0080;

// Reads big-endian integers, refusing to run past the end.
class Reader {
 public:
  explicit Reader(std::span<const uint8_t> message) : message_(message) {}

  bool u16(uint16_t* out) {
    if (message_.size() - pos_ < 2) return false;
    *out = static_cast<uint16_t>(message_[pos_] << 8 | message_[pos_ + 1]);
    pos_ += 2;
    return true;
  }
  bool skip(size_t count) {
    if (message_.size() - pos_ < count) return false;
    pos_ += count;
    return true;
  }
  size_t pos() const { return pos_; }
  void seek(size_t pos) { pos_ = pos; }
  bool at_end() const { return pos_ == message_.size(); }
  std::span<const uint8_t> message() const { return message_; }

 private:
  std::span<const uint8_t> message_;
  size_t pos_ = 0;
};

bool allowed_label_byte(uint8_t c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

// Reads a (possibly compressed) name at the reader's position, which ends up
// just after it. Fills `text` (dotted, lower-cased) and `wire` (uncompressed,
// as written) when given. Returns nullptr or the problem.
const char* read_name(Reader* reader, std::string* text, std::vector<uint8_t>* wire) {
  const std::span<const uint8_t> m = reader->message();
  size_t pos = reader->pos();
  size_t lowest = pos;     // every pointer must go strictly below this
  size_t resume = 0;       // where the reader continues after the first pointer
  size_t pointers = 0;
  size_t length = 0;       // wire length of the uncompressed name so far
  for (;;) {
    if (pos >= m.size()) return "name runs past the end of the message";
    const uint8_t byte = m[pos];
    if ((byte & 0xC0) == 0xC0) {
      if (pos + 1 >= m.size()) return "compression pointer runs past the end of the message";
      const size_t target = static_cast<size_t>(byte & 0x3F) << 8 | m[pos + 1];
      if (++pointers > kMaxPointers) return "too many compression pointers";
      if (target < kHeaderSize || target >= lowest) return "compression pointer does not point backwards";
      if (resume == 0) resume = pos + 2;
      pos = lowest = target;
      continue;
    }
    if ((byte & 0xC0) != 0) return "unknown label type";
    length += 1 + byte;
    if (length > kMaxName) return "name longer than 255 bytes";
    if (byte == 0) break;
    if (pos + 1 + byte > m.size()) return "label runs past the end of the message";
    for (size_t i = pos + 1; i <= pos + byte; ++i)
      if (!allowed_label_byte(m[i])) return "label byte other than a letter, digit, '-' or '_'";
    if (text != nullptr) {
      if (!text->empty()) text->push_back('.');
      for (size_t i = pos + 1; i <= pos + byte; ++i)
        text->push_back(static_cast<char>(m[i] >= 'A' && m[i] <= 'Z' ? m[i] - 'A' + 'a' : m[i]));
    }
    if (wire != nullptr) wire->insert(wire->end(), m.begin() + pos, m.begin() + pos + 1 + byte);
    pos += 1 + byte;
  }
  if (wire != nullptr) wire->push_back(0);
  reader->seek(resume != 0 ? resume : pos + 1);
  return nullptr;
}

void put16(std::vector<uint8_t>* out, uint16_t value) {
  out->push_back(static_cast<uint8_t>(value >> 8));
  out->push_back(static_cast<uint8_t>(value));
}

void put32(std::vector<uint8_t>* out, uint32_t value) {
  put16(out, static_cast<uint16_t>(value >> 16));
  put16(out, static_cast<uint16_t>(value));
}

void put_header(std::vector<uint8_t>* out, const Query& query, Rcode rcode, uint16_t questions,
                uint16_t answers, uint16_t additional) {
  uint16_t flags = kFlagResponse | kFlagRecursionAvailable | static_cast<uint16_t>((query.opcode & 0xF) << 11) |
                   static_cast<uint16_t>(rcode);
  if (query.recursion_desired) flags |= kFlagRecursionDesired;
  put16(out, query.id);
  put16(out, flags);
  put16(out, questions);
  put16(out, answers);
  put16(out, 0);  // authority
  put16(out, additional);
}

// The additional section: only an OPT record means anything to us.
const char* read_additional(Reader* reader, uint16_t count, Query* query) {
  for (uint16_t i = 0; i < count; ++i) {
    const size_t owner = reader->pos();
    uint16_t type = 0, rclass = 0, ttl_high = 0, ttl_low = 0, rdlength = 0;
    if (const char* problem = read_name(reader, nullptr, nullptr)) return problem;
    const bool root_owner = reader->pos() == owner + 1;
    if (!reader->u16(&type) || !reader->u16(&rclass) || !reader->u16(&ttl_high) || !reader->u16(&ttl_low) ||
        !reader->u16(&rdlength) || !reader->skip(rdlength))
      return "additional record runs past the end of the message";
    if (type != kTypeOpt) continue;
    if (query->edns) return "more than one OPT record";
    if (!root_owner) return "OPT record not owned by the root";
    query->edns = true;
    query->edns_payload = rclass;
  }
  return nullptr;
}

}  // namespace

Parsed parse_query(std::span<const uint8_t> message) {
  Parsed parsed;
  Reader reader(message);
  uint16_t flags = 0, questions = 0, answers = 0, authority = 0, additional = 0;
  if (!reader.u16(&parsed.query.id) || !reader.u16(&flags) || !reader.u16(&questions) ||
      !reader.u16(&answers) || !reader.u16(&authority) || !reader.u16(&additional)) {
    parsed.problem = "shorter than a DNS header";
    return parsed;
  }
  if (flags & kFlagResponse) {
    parsed.problem = "a response, not a query";
    return parsed;
  }
  parsed.query.opcode = static_cast<uint8_t>((flags >> 11) & 0xF);
  parsed.query.recursion_desired = (flags & kFlagRecursionDesired) != 0;
  auto refuse = [&](Verdict verdict, const char* problem) {
    parsed.verdict = verdict;
    parsed.problem = problem;
    return parsed;
  };
  if (parsed.query.opcode != 0) return refuse(Verdict::kNotImp, "opcode other than QUERY");
  if (questions != 1) return refuse(Verdict::kFormErr, "not exactly one question");
  if (answers != 0 || authority != 0) return refuse(Verdict::kFormErr, "answer or authority records in a query");
  Query& query = parsed.query;
  if (const char* problem = read_name(&reader, &query.name, &query.wire_name))
    return refuse(Verdict::kFormErr, problem);
  if (!reader.u16(&query.type) || !reader.u16(&query.qclass))
    return refuse(Verdict::kFormErr, "question runs past the end of the message");
  if (const char* problem = read_additional(&reader, additional, &query))
    return refuse(Verdict::kFormErr, problem);
  if (!reader.at_end()) return refuse(Verdict::kFormErr, "bytes after the last record");
  parsed.verdict = Verdict::kQuery;
  parsed.problem = nullptr;
  return parsed;
}

size_t max_reply_size(const Query& query, bool tcp) {
  if (tcp) return kMaxTcpMessage;
  if (!query.edns) return kMaxUdpReply;
  return std::clamp<size_t>(query.edns_payload, kMaxUdpReply, kMaxEdnsUdpReply);
}

std::vector<uint8_t> build_reply(const Query& query, Rcode rcode, std::span<const AddressData> addresses,
                                 uint32_t ttl, size_t max_size, size_t* answered) {
  constexpr size_t kOptSize = 11;
  const size_t fixed = kHeaderSize + query.wire_name.size() + 4 + (query.edns ? kOptSize : 0);
  // Pointer to the question's name, type, class, TTL, length, data.
  size_t count = 0, size = fixed;
  while (count < addresses.size() && count < 0xFFFF &&
         size + 2 + 2 + 2 + 4 + 2 + addresses[count].length <= max_size) {
    size += 12 + addresses[count].length;
    ++count;
  }
  std::vector<uint8_t> out;
  out.reserve(size);
  put_header(&out, query, rcode, 1, static_cast<uint16_t>(count), query.edns ? 1 : 0);
  out.insert(out.end(), query.wire_name.begin(), query.wire_name.end());
  put16(&out, query.type);
  put16(&out, query.qclass);
  for (size_t i = 0; i < count; ++i) {
    const AddressData& a = addresses[i];
    put16(&out, 0xC000 | kHeaderSize);
    put16(&out, a.length == 16 ? kTypeAaaa : kTypeA);
    put16(&out, kClassIn);
    put32(&out, ttl);
    put16(&out, a.length);
    out.insert(out.end(), a.bytes, a.bytes + a.length);
  }
  if (query.edns) {
    out.push_back(0);  // the root
    put16(&out, kTypeOpt);
    put16(&out, static_cast<uint16_t>(kMaxEdnsUdpReply));
    put32(&out, 0);  // extended rcode, version 0, no flags
    put16(&out, 0);
  }
  *answered = count;
  return out;
}

std::vector<uint8_t> build_header_reply(const Query& query, Rcode rcode) {
  std::vector<uint8_t> out;
  put_header(&out, query, rcode, 0, 0, 0);
  return out;
}

}  // namespace netleash::netleashd::dns
