#include "netleashd/noise/noise_pattern.h"

#include <algorithm>
#include <array>
#include <charconv>

namespace netleash::tunnel {
namespace {

// The pattern tables, transcribed from the spec in its own notation: the two
// pre-message patterns, then one string per message (initiator first).
struct PatternText {
  std::string_view name;
  std::string_view initiator_pre;
  std::string_view responder_pre;
  std::array<std::string_view, 4> messages;
};

constexpr PatternText kPatterns[] = {
    // §7.4 one-way patterns.
    {"N", "", "s", {"e, es"}},
    {"K", "s", "s", {"e, es, ss"}},
    {"X", "", "s", {"e, es, s, ss"}},
    // §7.5 fundamental interactive patterns.
    {"NN", "", "", {"e", "e, ee"}},
    {"NK", "", "s", {"e, es", "e, ee"}},
    {"NX", "", "", {"e", "e, ee, s, es"}},
    {"XN", "", "", {"e", "e, ee", "s, se"}},
    {"XK", "", "s", {"e, es", "e, ee", "s, se"}},
    {"XX", "", "", {"e", "e, ee, s, es", "s, se"}},
    {"KN", "s", "", {"e", "e, ee, se"}},
    {"KK", "s", "s", {"e, es, ss", "e, ee, se"}},
    {"KX", "s", "", {"e", "e, ee, se, s, es"}},
    {"IN", "", "", {"e, s", "e, ee, se"}},
    {"IK", "", "s", {"e, es, s, ss", "e, ee, se"}},
    {"IX", "", "", {"e, s", "e, ee, se, s, es"}},
    // §18.1 deferred patterns.
    {"NK1", "", "s", {"e", "e, ee, es"}},
    {"NX1", "", "", {"e", "e, ee, s", "es"}},
    {"X1N", "", "", {"e", "e, ee", "s", "se"}},
    {"X1K", "", "s", {"e, es", "e, ee", "s", "se"}},
    {"XK1", "", "s", {"e", "e, ee, es", "s, se"}},
    {"X1K1", "", "s", {"e", "e, ee, es", "s", "se"}},
    {"X1X", "", "", {"e", "e, ee, s, es", "s", "se"}},
    {"XX1", "", "", {"e", "e, ee, s", "es, s, se"}},
    {"X1X1", "", "", {"e", "e, ee, s", "es, s", "se"}},
    {"K1N", "s", "", {"e", "e, ee", "se"}},
    {"K1K", "s", "s", {"e, es", "e, ee", "se"}},
    {"KK1", "s", "s", {"e", "e, ee, se, es"}},
    {"K1K1", "s", "s", {"e", "e, ee, es", "se"}},
    {"K1X", "s", "", {"e", "e, ee, s, es", "se"}},
    {"KX1", "s", "", {"e", "e, ee, se, s", "es"}},
    {"K1X1", "s", "", {"e", "e, ee, s", "se, es"}},
    {"I1N", "", "", {"e, s", "e, ee", "se"}},
    {"I1K", "", "s", {"e, es, s", "e, ee", "se"}},
    {"IK1", "", "s", {"e, s", "e, ee, se, es"}},
    {"I1K1", "", "s", {"e, s", "e, ee, es", "se"}},
    {"I1X", "", "", {"e, s", "e, ee, s, es", "se"}},
    {"IX1", "", "", {"e, s", "e, ee, se, s", "es"}},
    {"I1X1", "", "", {"e, s", "e, ee, s", "se, es"}},
};

std::optional<Token> parse_token(std::string_view word) {
  static constexpr std::pair<std::string_view, Token> kTokens[] = {
      {"e", Token::e},   {"s", Token::s},   {"ee", Token::ee},   {"es", Token::es},
      {"se", Token::se}, {"ss", Token::ss}, {"psk", Token::psk},
  };
  for (const auto& [text, token] : kTokens) {
    if (text == word) return token;
  }
  return std::nullopt;
}

// "e, ee, s" -> {e, ee, s}. The table is compile-time data, so a bad word is
// a programming error caught by the unit tests, never by input.
MessagePattern parse_tokens(std::string_view text) {
  MessagePattern tokens;
  while (!text.empty()) {
    const std::size_t comma = text.find(',');
    std::string_view word = text.substr(0, comma);
    while (!word.empty() && word.front() == ' ') word.remove_prefix(1);
    if (const auto token = parse_token(word)) tokens.push_back(*token);
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
  }
  return tokens;
}

HandshakePattern from_text(const PatternText& text) {
  HandshakePattern pattern;
  pattern.name = std::string(text.name);
  pattern.initiator_premessage = parse_tokens(text.initiator_pre);
  pattern.responder_premessage = parse_tokens(text.responder_pre);
  for (std::string_view message : text.messages) {
    if (!message.empty()) pattern.messages.push_back(parse_tokens(message));
  }
  pattern.one_way = pattern.messages.size() == 1;
  return pattern;
}

// §9.4: psk0 puts "psk" at the start of the first message, pskN (N >= 1) at
// the end of the N-th message.
bool apply_psk_modifier(HandshakePattern& pattern, std::string_view modifier) {
  if (!modifier.starts_with("psk") || modifier.size() == 3) return false;
  const std::string_view digits = modifier.substr(3);
  if (digits.size() > 1 && digits.front() == '0') return false;  // "psk01" is not a name
  std::size_t position = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), position);
  if (ec != std::errc() || end != digits.data() + digits.size()) return false;
  if (position == 0) {
    pattern.messages.front().insert(pattern.messages.front().begin(), Token::psk);
  } else if (position <= pattern.messages.size()) {
    pattern.messages[position - 1].push_back(Token::psk);
  } else {
    return false;
  }
  pattern.psk_mode = true;
  ++pattern.psk_count;
  return true;
}

}  // namespace

std::optional<HandshakePattern> parse_handshake_pattern(std::string_view section) {
  // §8.1: the base name is uppercase letters and digits; the first modifier
  // follows directly, further ones are separated by '+'.
  const std::size_t base_end =
      std::min(section.size(), section.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"));
  const std::string_view base = section.substr(0, base_end);
  const auto text = std::ranges::find(kPatterns, base, &PatternText::name);
  if (text == std::end(kPatterns)) return std::nullopt;

  HandshakePattern pattern = from_text(*text);
  std::vector<std::string_view> seen;
  std::string_view modifiers = section.substr(base_end);
  while (!modifiers.empty()) {
    const std::size_t plus = modifiers.find('+');
    const std::string_view modifier = modifiers.substr(0, plus);
    if (std::ranges::find(seen, modifier) != seen.end()) return std::nullopt;
    if (!apply_psk_modifier(pattern, modifier)) return std::nullopt;
    seen.push_back(modifier);
    if (plus == std::string_view::npos) break;
    modifiers = modifiers.substr(plus + 1);
    if (modifiers.empty()) return std::nullopt;  // trailing '+'
  }
  pattern.name = std::string(section);
  return pattern;
}

}  // namespace netleash::tunnel
