// Every class of policy error, with its exact FILE:LINE:COL.
#include <catch2/catch.hpp>

#include "test_policy_support.h"

using Catch::Matchers::Contains;
using Errors = std::vector<std::string>;
using netleash::policy::testing::parse_errors;

TEST_CASE("invalid JSON points at the offending token", "[errors]") {
  CHECK(parse_errors("") ==
        Errors{"p.json:1:1: syntax error while parsing value - unexpected end of input; expected "
               "'[', '{', or a literal"});
  CHECK(parse_errors("[1,,2]") ==
        Errors{"p.json:1:4: syntax error while parsing value - unexpected ','; expected '[', '{', "
               "or a literal"});
  CHECK(parse_errors("{\n  \"app\" \"x\"\n}") ==
        Errors{"p.json:2:9: syntax error while parsing object separator - unexpected string "
               "literal; expected ':'"});
  CHECK(parse_errors("{\"app\": tru}") ==
        Errors{"p.json:1:9: syntax error while parsing value - invalid literal"});
  CHECK(parse_errors("{\"app\": \"x\",\n}") ==
        Errors{"p.json:2:1: syntax error while parsing object key - unexpected '}'; expected "
               "string literal"});
  CHECK(parse_errors("{\"app\": \"unterminated") ==
        Errors{"p.json:1:9: syntax error while parsing value - invalid string: missing closing "
               "quote"});
  CHECK(parse_errors("{\"app\": 01}") ==
        Errors{"p.json:1:10: syntax error while parsing object - unexpected number literal; "
               "expected '}'"});
  // Comments are not JSON.
  CHECK_THAT(parse_errors("{ // no\n\"app\": \"x\"}").at(0), Contains("p.json:1:3: "));
}

TEST_CASE("syntax errors do not quote file text", "[errors]") {
  // Found by fuzz_policy: nlohmann's "last read" excerpt can contain anything,
  // including what looks like the end of its own message.
  CHECK(parse_errors("{\"app\": \"\x7f'; expected \x7f\x0b\"}") ==
        Errors{"p.json:1:9: syntax error while parsing value - invalid string: control character "
               "U+000B (VT) must be escaped to \\u000B"});
}

TEST_CASE("trailing garbage after the document", "[errors]") {
  CHECK(parse_errors("{\"app\": \"x\"}\n\n  x") ==
        Errors{"p.json:3:3: syntax error while parsing value - invalid literal; expected end of "
               "input"});
  CHECK(parse_errors("{\"app\": \"x\"} {}") ==
        Errors{"p.json:1:14: syntax error while parsing value - unexpected '{'; expected end of "
               "input"});
}

TEST_CASE("columns count characters, not bytes", "[errors]") {
  CHECK(parse_errors("{\"comment\": \"h\u00e9\u00e9\", \"app\": 1}") ==
        Errors{"p.json:1:27: \"app\" must be a string, not number"});
  CHECK(parse_errors("\xEF\xBB\xBF{\"app\": 1}") ==
        Errors{"p.json:1:9: \"app\" must be a string, not number"});
}

TEST_CASE("nesting depth is bounded", "[errors]") {
  const std::string deep = std::string(100, '[') + std::string(100, ']');
  CHECK(parse_errors(deep) == Errors{"p.json:1:65: nesting deeper than 64 levels"});
}

TEST_CASE("top level: not an object, missing or bad app, bad resolve, bad dns", "[errors]") {
  CHECK(parse_errors("[]") == Errors{"p.json:1:1: a policy file must be an object, not array"});
  CHECK(parse_errors("{\n}") ==
        Errors{"p.json:1:1: missing \"app\" (the id given to netleash-patch --app)"});
  const std::string bad_id =
      "\"app\" must be 1-128 characters of A-Z a-z 0-9 . _ @ + -, starting with a letter or digit";
  CHECK(parse_errors(R"({"app": ""})") == Errors{"p.json:1:9: " + bad_id});
  CHECK(parse_errors(R"({"app": "-x"})") == Errors{"p.json:1:9: " + bad_id});
  CHECK(parse_errors(R"({"app": "a b"})") == Errors{"p.json:1:9: " + bad_id});
  CHECK(parse_errors(R"({"app": ")" + std::string(129, 'a') + "\"}") ==
        Errors{"p.json:1:9: " + bad_id});
  CHECK(parse_errors(R"({"app": null})") == Errors{"p.json:1:9: \"app\" must be a string, not null"});
  CHECK(parse_errors(R"({"app": "a", "resolve": "all"})") ==
        Errors{"p.json:1:25: \"resolve\" must be \"any\" (omit it to resolve only names that host "
               "rules match)"});
  CHECK(parse_errors(R"({"app": "a", "resolve": true})") ==
        Errors{"p.json:1:25: \"resolve\" must be a string, not boolean"});
  CHECK(parse_errors("{\"app\": \"a\",\n \"dns\": \"daemon\"}") ==
        Errors{"p.json:2:9: \"dns\" must be \"direct\" (omit it to have netleashd answer the app's "
               "DNS queries)"});
  CHECK(parse_errors(R"({"app": "a", "dns": 53})") ==
        Errors{"p.json:1:21: \"dns\" must be a string, not number"});
  CHECK(parse_errors(R"({"app": "a", "outbound": {}})") ==
        Errors{"p.json:1:26: \"outbound\" must be an array, not object"});
  CHECK(parse_errors(R"({"app": "a", "inbound": "x"})") ==
        Errors{"p.json:1:25: \"inbound\" must be an array, not string"});
  CHECK(parse_errors(R"({"app": "a", "comment": 5})") ==
        Errors{"p.json:1:25: \"comment\" must be a string, not number"});
}

TEST_CASE("unknown and duplicate keys point at the key", "[errors]") {
  CHECK(parse_errors("{\"app\": \"a\",\n \"outbund\": []}") ==
        Errors{"p.json:2:2: unknown key \"outbund\" in policy (did you mean \"outbound\"?)"});
  CHECK(parse_errors(R"({"app": "a", "zzz": 1})") ==
        Errors{"p.json:1:14: unknown key \"zzz\" in policy (allowed: app users groups binary sha256 outbound "
               "inbound resolve dns mode comment $schema)"});
  CHECK(parse_errors("{\"app\": \"a\",\n \"app\": \"b\"}") ==
        Errors{"p.json:2:2: duplicate key \"app\" (first at p.json:1:2)"});
  CHECK(parse_errors(R"({"app": "a", "outbound": [{"cidr": "10.0.0.0/8", "prot": "udp"}]})") ==
        Errors{"p.json:1:50: unknown key \"prot\" in outbound rule (did you mean \"protocol\"?)"});
  // The closest key wins, not the first one within reach ("host" is two edits from "port").
  CHECK(parse_errors(R"({"app": "a", "outbound": [{"host": "a.example", "port": [443]}]})") ==
        Errors{"p.json:1:49: unknown key \"port\" in outbound rule (did you mean \"ports\"?)"});
  CHECK(parse_errors(R"({"app": "a", "out": []})") ==
        Errors{"p.json:1:14: unknown key \"out\" in policy (did you mean \"outbound\"?)"});
  CHECK(parse_errors(R"({"app": "a", "outbound": [{"cidr": "10.0.0.0/8", "ports": [1], "ports": [2]}]})") ==
        Errors{"p.json:1:64: duplicate key \"ports\" (first at p.json:1:50)"});
  CHECK(parse_errors(R"({"app": "a", "inbound": [{"listen": 1, "expose": "1.2.3.4:5", "to": 1}]})") ==
        Errors{"p.json:1:63: unknown key \"to\" in inbound rule (allowed: listen expose from "
               "protocol comment)"});
}

TEST_CASE("outbound rule errors", "[errors]") {
  auto rule_errors = [](const std::string& rule) {
    return parse_errors(R"({"app": "a", "outbound": [)" + rule + "]}");
  };
  // The rule starts at column 27.
  CHECK(rule_errors("42") == Errors{"p.json:1:27: an outbound rule must be an object, not number"});
  CHECK(rule_errors("{}") == Errors{"p.json:1:27: an outbound rule needs \"host\" or \"cidr\""});
  CHECK(rule_errors(R"({"host": "a", "cidr": "10.0.0.0/8"})") ==
        Errors{"p.json:1:41: a rule has either \"host\" or \"cidr\", not both"});
  CHECK(rule_errors(R"({"host": 5})") == Errors{"p.json:1:36: \"host\" must be a string, not number"});
  CHECK(rule_errors(R"({"host": "a..b"})") == Errors{"p.json:1:36: \"a..b\" is not a valid DNS name"});
  CHECK(rule_errors(R"({"host": "*.*.b"})") ==
        Errors{"p.json:1:36: '*' is only allowed as a whole first label: \"*.example.com\""});
  CHECK(rule_errors(R"({"host": "10.1.1.1"})") ==
        Errors{"p.json:1:36: \"10.1.1.1\" is an address; use \"cidr\" for addresses"});
  CHECK(rule_errors(R"({"cidr": "10.0.0.1/8"})") ==
        Errors{"p.json:1:36: host bits are set below the /8 prefix; did you mean \"10.0.0.0/8\"?"});
  CHECK(rule_errors(R"({"cidr": "300.0.0.0/8"})") ==
        Errors{"p.json:1:36: \"300.0.0.0\" is not an IP address"});
  CHECK(rule_errors(R"({"cidr": ["10.0.0.0/8"]})") ==
        Errors{"p.json:1:36: a CIDR must be a string, not array"});
  CHECK(rule_errors(R"({"cidr": "::/0", "protocol": "icmp"})") ==
        Errors{"p.json:1:56: \"protocol\" must be \"tcp\", \"udp\" or \"any\": ICMP is not relayed, so no "
               "rule can allow ping (netleash.json(5), \"ICMP\")"});
  CHECK(rule_errors(R"({"cidr": "::/0", "via": "bad peer"})") ==
        Errors{"p.json:1:51: \"via\" must be a peer name: 1-64 characters of A-Z a-z 0-9 . _ -, "
               "starting with a letter or digit"});
  CHECK(rule_errors(R"({"cidr": "::/0", "via": 1})") ==
        Errors{"p.json:1:51: \"via\" must be a string, not number"});
}

TEST_CASE("port errors point at the bad port", "[errors]") {
  auto port_errors = [](const std::string& ports) {
    return parse_errors(R"({"app": "a", "outbound": [{"cidr": "::/0", "ports": )" + ports + "}]}");
  };
  // The ports array starts at column 53.
  CHECK(port_errors("[]") ==
        Errors{"p.json:1:53: \"ports\" is empty; omit it to allow every port"});
  CHECK(port_errors("80") == Errors{"p.json:1:53: \"ports\" must be an array, not number"});
  CHECK(port_errors("[0]") == Errors{"p.json:1:54: port 0 is out of range 1-65535"});
  CHECK(port_errors("[65536]") == Errors{"p.json:1:54: port 65536 is out of range 1-65535"});
  CHECK(port_errors("[-1]") == Errors{"p.json:1:54: port -1 is out of range 1-65535"});
  CHECK(port_errors("[80.5]") == Errors{"p.json:1:54: port must be a whole number 1-65535"});
  CHECK(port_errors("[1e2]") == Errors{"p.json:1:54: port must be a whole number 1-65535"});
  CHECK(port_errors("[99999999999999999999999]") ==
        Errors{"p.json:1:54: port must be a whole number 1-65535"});
  CHECK(port_errors("[null]") ==
        Errors{"p.json:1:54: a port must be a number or a \"lo-hi\" string, not null"});
  CHECK(port_errors(R"(["443"])") ==
        Errors{"p.json:1:54: write a single port as a number, not a string"});
  CHECK(port_errors(R"(["90-80"])") == Errors{"p.json:1:54: port range \"90-80\" has lo > hi"});
  CHECK(port_errors(R"(["0-80"])") ==
        Errors{"p.json:1:54: expected a port range \"lo-hi\" with ports 1-65535"});
  // Several bad ports: one error each, in order.
  CHECK(port_errors(R"([1, 0, 2,
    70000, "x"])") == Errors{"p.json:1:57: port 0 is out of range 1-65535",
                             "p.json:2:5: port 70000 is out of range 1-65535",
                             "p.json:2:12: expected a port range \"lo-hi\""});
}

TEST_CASE("inbound rule errors", "[errors]") {
  auto rule_errors = [](const std::string& rule) {
    return parse_errors(R"({"app": "a", "inbound": [)" + rule + "]}");
  };
  // The rule starts at column 26.
  CHECK(rule_errors("[]") == Errors{"p.json:1:26: an inbound rule must be an object, not array"});
  CHECK(rule_errors("{}") == Errors{"p.json:1:26: an inbound rule needs \"listen\"",
                                    "p.json:1:26: an inbound rule needs \"expose\""});
  CHECK(rule_errors(R"({"listen": 70000, "expose": "1.2.3.4:0"})") ==
        Errors{"p.json:1:37: \"listen\" port 70000 is out of range 0-65535"});
  CHECK(rule_errors(R"({"listen": true, "expose": "1.2.3.4:0"})") ==
        Errors{"p.json:1:37: \"listen\" must be a port number or an \"address:port\" string, not boolean"});
  CHECK(rule_errors(R"({"listen": "::1:80", "expose": "1.2.3.4:0"})") ==
        Errors{"p.json:1:37: \"listen\": write IPv6 endpoints as \"[address]:port\""});
  CHECK(rule_errors(R"({"listen": 80, "expose": "1.2.3.4"})") ==
        Errors{"p.json:1:51: \"expose\": expected \"address:port\""});
  CHECK(rule_errors(R"({"listen": 80, "expose": "localhost:80"})") ==
        Errors{"p.json:1:51: \"expose\": \"localhost\" is not an IP address"});
  CHECK(rule_errors(R"({"listen": 80, "expose": 8080})") ==
        Errors{"p.json:1:51: \"expose\" must be a string, not number"});
  CHECK(rule_errors(R"({"listen": 80, "expose": "1.2.3.4:0", "from": []})") ==
        Errors{"p.json:1:72: \"from\" is empty; omit it to allow any peer"});
  CHECK(rule_errors(R"({"listen": 80, "expose": "1.2.3.4:0", "from": ["10.0.0.0/8", 5, "1.1.1.1/0"]})") ==
        Errors{"p.json:1:87: a CIDR must be a string, not number",
               "p.json:1:90: host bits are set below the /0 prefix; did you mean \"0.0.0.0/0\"?"});
  CHECK(rule_errors(R"({"listen": 80, "expose": "1.2.3.4:0", "protocol": "any"})") ==
        Errors{"p.json:1:76: inbound \"protocol\" must be \"tcp\" or \"udp\""});
}

TEST_CASE("all errors of a file are reported, in file order", "[errors]") {
  const Errors errors = parse_errors(R"({
  "app": "bad app",
  "outbound": [
    { "host": "ok.example.com", "ports": [0] },
    { "cidr": "10.0.0.1/8", "protocol": "sctp" },
    { "hots": "x.example.com" }
  ],
  "inbound": [ { "listen": 80 } ],
  "extra": true
})");
  CHECK(errors == Errors{
                      "p.json:2:10: \"app\" must be 1-128 characters of A-Z a-z 0-9 . _ @ + -, "
                      "starting with a letter or digit",
                      "p.json:4:43: port 0 is out of range 1-65535",
                      "p.json:5:15: host bits are set below the /8 prefix; did you mean \"10.0.0.0/8\"?",
                      "p.json:5:41: \"protocol\" must be \"tcp\", \"udp\" or \"any\"",
                      "p.json:6:5: an outbound rule needs \"host\" or \"cidr\"",
                      "p.json:6:7: unknown key \"hots\" in outbound rule (did you mean \"host\"?)",
                      "p.json:8:16: an inbound rule needs \"expose\"",
                      "p.json:9:3: unknown key \"extra\" in policy (allowed: app users groups binary sha256 outbound "
                      "inbound resolve dns mode comment $schema)",
                  });
}

TEST_CASE("quoted text is escaped so that every error is one line", "[errors]") {
  CHECK(parse_errors(R"({"app": "a", "outbound": [{"host": "a\nb\u0000\"c"}], "k\t": 1})") ==
        Errors{R"(p.json:1:36: "a\nb\u0000\"c" is not a valid DNS name)",
               R"(p.json:1:55: unknown key "k\t" in policy (allowed: app users groups binary sha256 outbound inbound resolve dns mode comment $schema))"});
  CHECK(parse_errors(R"({"app": "a", "outbound": [{"cidr": "10.0.0.1\u0000"}]})") ==
        Errors{R"(p.json:1:36: "10.0.0.1\u0000" is not an IP address)"});
  const std::string long_key(100, 'k');
  CHECK(parse_errors(R"({"app": "a", ")" + long_key + R"(": 1})") ==
        Errors{"p.json:1:14: unknown key \"" + std::string(64, 'k') +
               "...\" in policy (allowed: app users groups binary sha256 outbound inbound resolve dns mode comment $schema)"});
}

TEST_CASE("the number of errors per file is capped", "[errors]") {
  std::string text = R"({"app": "a", "outbound": [{"cidr": "::/0", "ports": [)";
  for (int i = 0; i < 500; ++i) text += "0,";
  text += "0]}]}";
  const Errors errors = parse_errors(text);
  CHECK(errors.size() == 101);
  CHECK_THAT(errors.back(), Contains("too many errors, giving up on this file"));
}

TEST_CASE("oversized files are refused without parsing", "[errors]") {
  const std::string huge(netleash::policy::kMaxPolicyBytes + 1, ' ');
  CHECK(parse_errors(huge) == Errors{"p.json:1:1: file is larger than 4194304 bytes"});
}
