#include "netleashd/policy/json_positions.h"

#include <algorithm>
#include <iterator>
#include <limits>

#include <nlohmann/json.hpp>

namespace netleash::policy::json {
namespace {

using nlohmann::json;

// A const char* that publishes, after every step, how many bytes nlohmann's
// lexer has pulled from the input. The lexer reads one byte at a time and
// looks at most one byte ahead, so when a SAX event fires, `consumed` is the
// end of the token just read (one past it for numbers, whose end is only
// known after reading the next byte).
class CountingIterator {
 public:
  using iterator_category = std::input_iterator_tag;
  using value_type = char;
  using difference_type = std::ptrdiff_t;
  using pointer = const char*;
  using reference = const char&;

  CountingIterator(const char* base, const char* position, std::size_t* consumed)
      : base_(base), position_(position), consumed_(consumed) {}

  reference operator*() const { return *position_; }
  CountingIterator& operator++() {
    ++position_;
    *consumed_ = static_cast<std::size_t>(position_ - base_);
    return *this;
  }
  CountingIterator operator++(int) {
    CountingIterator before = *this;
    ++*this;
    return before;
  }
  friend bool operator==(const CountingIterator& a, const CountingIterator& b) {
    return a.position_ == b.position_;
  }

 private:
  const char* base_;
  const char* position_;
  std::size_t* consumed_;
};

constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";

bool is_whitespace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// nlohmann's messages read "[json.exception.parse_error.101] parse error at
// line L, column C: syntax error while parsing CONTEXT - PROBLEM" with, for
// lexer errors, "; last read: 'TEXT'", and then maybe "; expected TOKEN".
// The location is ours to give. "last read" quotes file text (anything, even
// "'; expected " or control characters) spanning more than the bad token, so
// it goes; "; expected TOKEN" is kept only when TOKEN is one of nlohmann's
// fixed token names, which makes the result free of file text.
std::string describe(const nlohmann::detail::exception& error) {
  std::string_view message = error.what();
  const std::size_t start = message.find("syntax error");
  if (start != std::string_view::npos) {
    message.remove_prefix(start);
  } else if (const std::size_t colon = message.find(": "); colon != std::string_view::npos) {
    message.remove_prefix(colon + 2);
  }
  std::string_view expected;
  for (std::string_view token :
       {"'[', '{', or a literal", "end of input", "string literal", "number literal",
        "true literal", "false literal", "null literal", "'['", "'{'", "']'", "'}'", "':'", "','"}) {
    const std::string suffix = "; expected " + std::string(token);
    if (message.size() >= suffix.size() && message.substr(message.size() - suffix.size()) == suffix) {
      expected = message.substr(message.size() - suffix.size());
      break;
    }
  }
  std::string_view head = message.substr(0, message.size() - expected.size());
  if (const std::size_t last_read = head.find("; last read: '"); last_read != std::string_view::npos) {
    head = head.substr(0, last_read);
  }
  return std::string(head) + std::string(expected);
}

// Receives nlohmann's SAX events and assembles the Node tree.
class TreeBuilder {
 public:
  TreeBuilder(std::string_view text, const std::size_t* consumed)
      : text_(text), consumed_(consumed) {
    if (text_.substr(0, kUtf8Bom.size()) == kUtf8Bom) last_end_ = kUtf8Bom.size();
  }

  std::optional<Node> take_root() { return std::move(root_); }
  std::optional<SyntaxError> take_error() { return std::move(error_); }

  bool null() { return attach(make(Kind::kNull, *consumed_)); }
  bool boolean(bool value) {
    Node node = make(Kind::kBool, *consumed_);
    node.boolean = value;
    return attach(std::move(node));
  }
  bool number_integer(json::number_integer_t value) {
    Node node = make(Kind::kNumber, number_end());
    node.integer = value;
    return attach(std::move(node));
  }
  bool number_unsigned(json::number_unsigned_t value) {
    Node node = make(Kind::kNumber, number_end());
    if (value <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      node.integer = static_cast<std::int64_t>(value);
    }
    return attach(std::move(node));
  }
  bool number_float(json::number_float_t /*value*/, const json::string_t& /*raw*/) {
    return attach(make(Kind::kNumber, number_end()));
  }
  bool string(json::string_t& value) {
    Node node = make(Kind::kString, *consumed_);
    node.string = std::move(value);
    return attach(std::move(node));
  }
  // The JSON lexer never produces binary values.
  bool binary(json::binary_t& /*value*/) { return false; }

  bool start_object(std::size_t /*elements*/) { return open(Kind::kObject); }
  bool key(json::string_t& value) {
    pending_key_offset_ = next_token(*consumed_);
    pending_key_ = std::move(value);
    return true;
  }
  bool end_object() { return close(); }
  bool start_array(std::size_t /*elements*/) { return open(Kind::kArray); }
  bool end_array() { return close(); }

  bool parse_error(std::size_t position, const std::string& /*last_token*/,
                   const nlohmann::detail::exception& exception) {
    error_ = SyntaxError{error_offset(position), describe(exception)};
    return false;
  }

 private:
  std::size_t skip_whitespace(std::size_t offset) const {
    while (offset < text_.size() && is_whitespace(text_[offset])) ++offset;
    return offset;
  }

  // Between two events the lexer only passes whitespace and the separators
  // ':' and ',' (which raise no event), so the token that ends at `end` begins
  // at the first other byte after the previous token.
  std::size_t skip_token_separators(std::size_t offset) const {
    while (offset < text_.size() &&
           (is_whitespace(text_[offset]) || text_[offset] == ':' || text_[offset] == ',')) {
      ++offset;
    }
    return offset;
  }

  // Returns where the token ending at `end` starts, and remembers `end`.
  std::size_t next_token(std::size_t end) {
    const std::size_t start = skip_token_separators(last_end_);
    last_end_ = end;
    return start;
  }

  // Numbers need care: the lexer only knows a number ended after reading the
  // byte behind it, which may even be a digit ("01" is the two tokens 0 and
  // 1). So measure the number from its start by the JSON grammar:
  // -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? — nlohmann accepted it.
  std::size_t number_end() const {
    std::size_t end = std::min(skip_token_separators(last_end_), text_.size());
    auto digits = [&] {
      while (end < text_.size() && text_[end] >= '0' && text_[end] <= '9') ++end;
    };
    if (end < text_.size() && text_[end] == '-') ++end;
    if (end < text_.size() && text_[end] == '0') {
      ++end;
    } else {
      digits();
    }
    if (end < text_.size() && text_[end] == '.') {
      ++end;
      digits();
    }
    if (end < text_.size() && (text_[end] == 'e' || text_[end] == 'E')) {
      ++end;
      if (end < text_.size() && (text_[end] == '+' || text_[end] == '-')) ++end;
      digits();
    }
    return end;
  }

  // The offending token is the first one after the last good token, past at
  // most one separator, and began before the lexer's position at the error
  // ("[1,,2]" points at the second ',', "[,1]" at the first).
  std::size_t error_offset(std::size_t lexer_position) const {
    const std::size_t plain = skip_whitespace(last_end_);
    std::size_t past_separator = plain;
    if (past_separator < text_.size() &&
        (text_[past_separator] == ':' || text_[past_separator] == ',')) {
      past_separator = skip_whitespace(past_separator + 1);
    }
    const std::size_t offset = past_separator < lexer_position ? past_separator : plain;
    return std::min(offset, text_.size());
  }

  Node make(Kind kind, std::size_t end) {
    Node node;
    node.kind = kind;
    node.offset = next_token(end);
    if (!stack_.empty() && stack_.back().kind == Kind::kObject) {
      node.key = std::move(pending_key_);
      node.key_offset = pending_key_offset_;
    }
    return node;
  }

  // Records an error and returns false (which stops the parse) when the
  // document grows past kMaxValues.
  bool count_value(const Node& node) {
    if (++values_ <= kMaxValues) return true;
    error_ = SyntaxError{node.offset, "more than " + std::to_string(kMaxValues) + " values"};
    return false;
  }

  bool attach(Node node) {
    const bool container = node.kind == Kind::kArray || node.kind == Kind::kObject;
    if (!container && !count_value(node)) return false;  // containers count when opened
    if (stack_.empty()) {
      root_ = std::move(node);
    } else {
      stack_.back().children.push_back(std::move(node));
    }
    return true;
  }

  bool open(Kind kind) {
    Node node = make(kind, *consumed_);
    if (!count_value(node)) return false;
    if (stack_.size() >= kMaxDepth) {
      error_ = SyntaxError{node.offset, "nesting deeper than " + std::to_string(kMaxDepth) +
                                            " levels"};
      return false;
    }
    stack_.push_back(std::move(node));
    return true;
  }

  bool close() {
    next_token(*consumed_);
    Node node = std::move(stack_.back());
    stack_.pop_back();
    return attach(std::move(node));
  }

  std::string_view text_;
  const std::size_t* consumed_;
  std::size_t last_end_ = 0;
  std::vector<Node> stack_;
  std::size_t values_ = 0;
  std::string pending_key_;
  std::size_t pending_key_offset_ = 0;
  std::optional<Node> root_;
  std::optional<SyntaxError> error_;
};

}  // namespace

std::string_view kind_name(Kind kind) {
  switch (kind) {
    case Kind::kNull: return "null";
    case Kind::kBool: return "boolean";
    case Kind::kNumber: return "number";
    case Kind::kString: return "string";
    case Kind::kArray: return "array";
    case Kind::kObject: return "object";
  }
  return "?";
}

std::optional<Node> parse(std::string_view text, SyntaxError* error) {
  std::size_t consumed = 0;
  TreeBuilder builder(text, &consumed);
  const char* begin = text.data();
  const char* end = begin + text.size();
  const bool ok = json::sax_parse(CountingIterator(begin, begin, &consumed),
                                  CountingIterator(begin, end, &consumed), &builder);
  auto root = builder.take_root();
  if (ok && root) return root;
  auto syntax_error = builder.take_error();
  if (error != nullptr) {
    *error = syntax_error ? std::move(*syntax_error)
                          : SyntaxError{text.size(), "syntax error: incomplete JSON value"};
  }
  return std::nullopt;
}

LineMap::LineMap(std::string_view text) : text_(text) {
  // A byte order mark is invisible in an editor, so column 1 comes after it.
  line_starts_.push_back(text.substr(0, kUtf8Bom.size()) == kUtf8Bom ? kUtf8Bom.size() : 0);
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n') line_starts_.push_back(i + 1);
  }
}

LineMap::Position LineMap::position(std::size_t offset) const {
  offset = std::min(offset, text_.size());
  const auto next_line = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset);
  if (next_line == line_starts_.begin()) return {1, 1};  // inside the byte order mark
  const std::size_t line = static_cast<std::size_t>(next_line - line_starts_.begin());
  std::size_t column = 1;
  for (std::size_t i = line_starts_[line - 1]; i < offset; ++i) {
    if ((static_cast<unsigned char>(text_[i]) & 0xC0) != 0x80) ++column;
  }
  return {line, column};
}

}  // namespace netleash::policy::json
