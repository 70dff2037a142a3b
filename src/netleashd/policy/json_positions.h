// A JSON document tree in which every value and every object key remembers
// where it was written, so that the policy validator can say FILE:LINE:COL.
//
// nlohmann::json does the parsing (through its SAX interface); this layer only
// watches how far nlohmann's lexer has read and builds a small tree. See
// README.md ("Positions") for why that gives exact token positions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace netleash::policy::json {

enum class Kind : std::uint8_t { kNull, kBool, kNumber, kString, kArray, kObject };

std::string_view kind_name(Kind kind);  // "null", "boolean", "number", ...

struct Node {
  Kind kind = Kind::kNull;
  std::size_t offset = 0;  // byte offset of the value's first character

  bool boolean = false;
  // Set for integer literals that fit in int64 ("8080", "-1"); unset for
  // fractions, exponents and huge integers ("80.0", "1e3", "1e400").
  std::optional<std::int64_t> integer;
  std::string string;  // kString: the decoded value

  // kArray: the items. kObject: the members in written order, duplicates kept
  // (the validator reports them), each with `key` and `key_offset` set.
  std::vector<Node> children;
  std::string key;
  std::size_t key_offset = 0;
};

struct SyntaxError {
  std::size_t offset = 0;  // start of the offending token
  std::string message;
};

// Containers nested deeper than this are refused (no policy needs more than
// four levels), which also bounds recursion in everything that walks a Node.
inline constexpr std::size_t kMaxDepth = 64;

// More values than this in one document are refused: a tree node costs ~150
// bytes, and a policy has hundreds of values, not millions.
inline constexpr std::size_t kMaxValues = 100000;

// Parses one complete JSON text (a UTF-8 BOM is skipped; no comments; nothing
// but whitespace after the value). Returns the root, or the first syntax error.
std::optional<Node> parse(std::string_view text, SyntaxError* error);

// Maps byte offsets to 1-based line and column numbers. Columns count Unicode
// code points (UTF-8 continuation bytes do not advance the column), so they
// agree with what an editor shows for non-ASCII text; a tab counts as one.
class LineMap {
 public:
  explicit LineMap(std::string_view text);
  struct Position {
    std::size_t line;
    std::size_t column;
  };
  Position position(std::size_t offset) const;

 private:
  std::string_view text_;
  std::vector<std::size_t> line_starts_;
};

}  // namespace netleash::policy::json
