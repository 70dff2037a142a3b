// The position-tracking JSON layer under the validator.
#include <catch2/catch.hpp>

#include "netleashd/policy/json_positions.h"

namespace json = netleash::policy::json;
using json::Kind;

namespace {

json::Node parse(std::string_view text) {
  json::SyntaxError error;
  auto root = json::parse(text, &error);
  INFO(error.message);
  REQUIRE(root);
  return std::move(*root);
}

json::SyntaxError parse_error(std::string_view text) {
  json::SyntaxError error;
  CHECK_FALSE(json::parse(text, &error));
  return error;
}

}  // namespace

TEST_CASE("every value and key knows its offset", "[json]") {
  const std::string text = R"( { "a" : [ 1 , -2.5e3 ,true,null ,"s"] ,"b":{}, "c":7})";
  const json::Node root = parse(text);
  CHECK(root.kind == Kind::kObject);
  CHECK(root.offset == 1);
  REQUIRE(root.children.size() == 3);
  const json::Node& a = root.children[0];
  CHECK(a.key == "a");
  CHECK(a.key_offset == 3);
  CHECK(a.kind == Kind::kArray);
  CHECK(a.offset == 9);
  REQUIRE(a.children.size() == 5);
  CHECK(a.children[0].offset == 11);
  CHECK(a.children[0].integer == 1);
  CHECK(a.children[1].offset == 15);
  CHECK(a.children[1].kind == Kind::kNumber);
  CHECK_FALSE(a.children[1].integer);
  CHECK(a.children[2].offset == 23);
  CHECK(a.children[2].boolean);
  CHECK(a.children[3].offset == 28);
  CHECK(a.children[3].kind == Kind::kNull);
  CHECK(a.children[4].offset == 34);
  CHECK(a.children[4].string == "s");
  CHECK(root.children[1].key_offset == 40);
  CHECK(root.children[1].offset == 44);
  CHECK(root.children[2].key_offset == 48);
  CHECK(root.children[2].offset == 52);
  CHECK(root.children[2].integer == 7);
}

TEST_CASE("numbers at the very end of the input", "[json]") {
  const json::Node root = parse("  42");
  CHECK(root.offset == 2);
  CHECK(root.integer == 42);
  CHECK(parse("[1,2]").children[1].offset == 3);
  CHECK(parse("[1\n,\n2]").children[1].offset == 5);
  // "01" is two tokens; the lexer reads the 1 to end the 0.
  CHECK(parse_error("[01]").offset == 2);
  const json::Node numbers = parse("[-0,0.5e-7,10E+2 ,3]");
  CHECK(numbers.children[1].offset == 4);
  CHECK(numbers.children[2].offset == 11);
  CHECK(numbers.children[3].offset == 18);
}

TEST_CASE("integers: signed, unsigned, too big", "[json]") {
  const json::Node root = parse("[-9223372036854775808, 9223372036854775807, 9223372036854775808, 1.0]");
  CHECK(root.children[0].integer == INT64_MIN);
  CHECK(root.children[1].integer == INT64_MAX);
  CHECK_FALSE(root.children[2].integer);
  CHECK_FALSE(root.children[3].integer);
}

TEST_CASE("escaped strings keep their positions", "[json]") {
  const json::Node root = parse(R"(["a\"b\\", "\u00e9x", "z"])");
  CHECK(root.children[0].string == "a\"b\\");
  CHECK(root.children[1].offset == 11);
  CHECK(root.children[1].string == "\xC3\xA9x");
  CHECK(root.children[2].offset == 22);
}

TEST_CASE("duplicate keys are kept for the validator to report", "[json]") {
  const json::Node root = parse(R"({"k":1,"k":2})");
  REQUIRE(root.children.size() == 2);
  CHECK(root.children[1].key_offset == 7);
  CHECK(root.children[1].integer == 2);
}

TEST_CASE("syntax errors point at the start of the bad token", "[json]") {
  CHECK(parse_error("[,1]").offset == 1);
  CHECK(parse_error("[1,,2]").offset == 3);
  CHECK(parse_error("[1 2]").offset == 3);
  CHECK(parse_error("{\"a\"::1}").offset == 5);
  CHECK(parse_error("{\"a\" 1}").offset == 5);
  CHECK(parse_error("[1 :2]").offset == 3);
  CHECK(parse_error("[1] x").offset == 4);
  CHECK(parse_error("[\"abc").offset == 1);
  CHECK(parse_error("[1,\n").offset == 4);  // end of input
  CHECK(parse_error("").offset == 0);
  CHECK(parse_error("\xEF\xBB\xBF").offset == 3);
}

TEST_CASE("the number of values is bounded", "[json]") {
  std::string many = "[";
  for (std::size_t i = 0; i < json::kMaxValues - 2; ++i) many += "0,";
  many += "0]";
  CHECK(parse(many).children.size() == json::kMaxValues - 1);  // the array counts too
  many.insert(1, "[],");
  const json::SyntaxError error = parse_error(many);
  CHECK(error.offset == many.size() - 2);
  CHECK(error.message == "more than 100000 values");
}

TEST_CASE("a byte order mark is skipped", "[json]") {
  CHECK(parse("\xEF\xBB\xBF [7]").offset == 4);
}

TEST_CASE("line map: 1-based lines and code point columns", "[json]") {
  const std::string text = "ab\n\xC3\xA9x\r\n\n";
  const json::LineMap lines(text);
  auto at = [&](std::size_t offset) {
    const auto position = lines.position(offset);
    return std::to_string(position.line) + ":" + std::to_string(position.column);
  };
  CHECK(at(0) == "1:1");
  CHECK(at(2) == "1:3");
  CHECK(at(3) == "2:1");
  CHECK(at(5) == "2:2");  // after the two-byte e-acute
  CHECK(at(6) == "2:3");
  CHECK(at(8) == "3:1");
  CHECK(at(9) == "4:1");
  CHECK(at(1000) == "4:1");
  const json::LineMap bom("\xEF\xBB\xBF" "ab");
  CHECK(bom.position(0).column == 1);
  CHECK(bom.position(3).column == 1);
  CHECK(bom.position(4).column == 2);
}
