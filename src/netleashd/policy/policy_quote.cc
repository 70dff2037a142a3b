#include "netleashd/policy/policy_quote.h"

#include <cstdio>

namespace netleash::policy {

std::string quoted(std::string_view text) {
  constexpr std::size_t kMaxQuoted = 64;
  bool cut = false;
  if (text.size() > kMaxQuoted) {
    std::size_t end = kMaxQuoted;
    // Never split a UTF-8 sequence: back up to the start of a character.
    while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
    text = text.substr(0, end);
    cut = true;
  }
  std::string out = "\"";
  for (char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          char escape[8];
          std::snprintf(escape, sizeof escape, "\\u%04x", static_cast<unsigned char>(c));
          out += escape;
        } else {
          out += c;
        }
    }
  }
  out += cut ? "...\"" : "\"";
  return out;
}

}  // namespace netleash::policy
