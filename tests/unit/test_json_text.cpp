// parse_json_text (harness/util/json_text.h), the one parser of user JSON (issue #29): nesting is bounded
// without recursion (a 100 000-deep document is an error naming its line and column, not a stack
// overflow), numbers beyond a double are input errors, duplicate keys are refused on request at every
// depth, and large objects parse in linear time.
#include "harness/util/errors.h"
#include "harness/util/json_text.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <string>

using Catch::Matchers::Contains;
using Catch::Matchers::Equals;
using ptq::parse_json_text;

namespace {

// `depth` opening brackets around 1, then the closing ones: "[[1]]" is depth 2.
std::string nested_arrays(size_t depth) { return std::string(depth, '[') + "1" + std::string(depth, ']'); }
// {"a":{"a":...{"a":1}...}} with `depth` objects.
std::string nested_objects(size_t depth) {
  std::string s;
  for (size_t i = 0; i < depth; ++i) s += "{\"a\":";
  s += "1";
  return s + std::string(depth, '}');
}

std::string message_of(std::string_view text, const ptq::JsonTextOptions& options = {}) {
  try {
    parse_json_text(text, "doc.json", options);
  } catch (const ptq::InputError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("parse_json_text refuses nesting past the limit, naming line and column, without recursing",
          "[unit][json_text]") {
  ::unsetenv("PTQBENCH_MAX_JSON_DEPTH");
  SECTION("64 levels are accepted, 65 refused at the 65th bracket") {
    const nlohmann::json ok = parse_json_text(nested_arrays(64), "doc.json");
    const nlohmann::json* v = &ok;
    for (int i = 0; i < 64; ++i) {
      REQUIRE(v->is_array());
      REQUIRE(v->size() == 1);
      v = &(*v)[0];
    }
    CHECK(*v == 1);
    CHECK(message_of(nested_arrays(65)) ==
          "doc.json: JSON nested deeper than 64 levels at line 1, column 65 (PTQBENCH_MAX_JSON_DEPTH raises it)");
    CHECK_NOTHROW(parse_json_text(nested_objects(64), "doc.json"));
    // Object brackets are 5 characters apart ({"a":): the 65th opens at column 64 * 5 + 1.
    CHECK_THAT(message_of(nested_objects(65)), Contains("nested deeper than 64 levels at line 1, column 321"));
  }
  SECTION("100 000 levels of arrays or objects: one message, no crash") {
    CHECK(message_of(nested_arrays(100'000)) ==
          "doc.json: JSON nested deeper than 64 levels at line 1, column 65 (PTQBENCH_MAX_JSON_DEPTH raises it)");
    CHECK_THAT(message_of(nested_objects(100'000)), Contains("at line 1, column 321"));
    // Inside a real document, on its third line: line and column point at the bracket.
    const std::string doc = "{\n  \"name\": \"x\",\n  \"description\": " + nested_arrays(100'000) + "\n}";
    // The object is level 1: its 64th '[' opens level 65, 17 characters into the line then 63 more.
    CHECK_THAT(message_of(doc), Contains("at line 3, column 81 "));
  }
  SECTION("PTQBENCH_MAX_JSON_DEPTH raises it") {
    ::setenv("PTQBENCH_MAX_JSON_DEPTH", "200", 1);
    CHECK_NOTHROW(parse_json_text(nested_arrays(200), "doc.json"));
    CHECK_THAT(message_of(nested_arrays(201)), Contains("deeper than 200 levels"));
    ::unsetenv("PTQBENCH_MAX_JSON_DEPTH");
  }
}

TEST_CASE("parse_json_text refuses numbers beyond a double with their line and column", "[unit][json_text]") {
  CHECK(message_of("{\"n\": 1e400}") ==
        "doc.json: number 1e400 at line 1, column 7 is out of range (a JSON number must fit a double, at most "
        "about 1.8e308)");
  CHECK_THAT(message_of("[1,\n 2,\n -1e999999]"), Contains("number -1e999999 at line 3, column 2 is out of range"));
  // An integer of 400 digits overflows every integer type, then the double: the same error, the number cut.
  const std::string huge(400, '9');
  const std::string m = message_of("[" + huge + "]");
  CHECK_THAT(m, Contains("at line 1, column 2 is out of range"));
  CHECK_THAT(m, Contains("(400 bytes)"));
  CHECK(m.size() < 300);
  // In range: exact values, as nlohmann reads them.
  const auto j = parse_json_text("[1e308, -9223372036854775808, 18446744073709551615, 0.5]", "doc.json");
  CHECK(j[0].get<double>() == 1e308);
  CHECK(j[1].get<int64_t>() == INT64_MIN);
  CHECK(j[2].get<uint64_t>() == UINT64_MAX);
  CHECK(j[3].get<double>() == 0.5);
}

TEST_CASE("parse_json_text refuses duplicate keys at any depth when asked, otherwise the last wins",
          "[unit][json_text]") {
  const ptq::JsonTextOptions strict{/*reject_duplicate_keys=*/true};
  CHECK(message_of("{\"name\": \"a\",\n \"name\": \"b\"}", strict) ==
        "doc.json: key \"name\" appears twice in the same object (line 2)");
  const std::string depth3 = "{\"m\": [{\"config\": {\n\"epochs\": 1,\n\n\"epochs\": 2}}]}";
  CHECK(message_of(depth3, strict) == "doc.json: key \"epochs\" appears twice in the same object (line 4)");
  // The same key in sibling objects is no duplicate.
  CHECK_NOTHROW(parse_json_text("[{\"a\": 1}, {\"a\": 2}, {\"b\": {\"a\": 3}, \"a\": 4}]", "doc.json", strict));
  // Without the option: nlohmann's behaviour, the last value wins (and the key keeps its place).
  const auto j = parse_json_text(depth3, "doc.json");
  CHECK(j["m"][0]["config"]["epochs"] == 2);
  CHECK(j["m"][0]["config"].size() == 1);
  CHECK(parse_json_text("{\"k\": 1, \"k\": {\"x\": [true]}}", "doc.json") == nlohmann::json::parse(R"({"k": {"x": [true]}})"));
}

TEST_CASE("parse_json_text builds the same DOM as nlohmann::json::parse and names syntax errors",
          "[unit][json_text]") {
  const std::string doc =
      R"({"s": "é\n\u00e9", "i": -3, "u": 12345678901234567890, "f": 2.5, "b": [true, false, null], "o": {}, "a": [], "e": ""})";
  CHECK(parse_json_text(doc, "doc.json") == nlohmann::json::parse(doc));
  CHECK(parse_json_text("  7 ", "doc.json") == 7);
  CHECK(message_of("{\n  \"a\": tru }") ==
        "doc.json: invalid JSON at line 2, column 11: syntax error while parsing value - invalid literal; last read: "
        "'\"a\": tru '");
  CHECK_THAT(message_of(""), Contains("doc.json: invalid JSON at line 1, column 1:"));
  CHECK_THAT(message_of("{} x"), Contains("doc.json: invalid JSON at line 1, column 4"));
  // An unterminated 1 MB string: the message quotes a bounded excerpt of it.
  const std::string m = message_of("[\"" + std::string(1'000'000, 'x'));
  CHECK_THAT(m, Contains("invalid JSON at line 1"));
  CHECK(m.size() < 400);
  SECTION("the pieces of a syntax error, for readers that word it their way") {
    try {
      parse_json_text("[1,\n 2,,]", "doc.json", {false, /*first_line=*/10});
      FAIL("no error");
    } catch (const ptq::JsonSyntaxError& e) {
      CHECK(e.line == 11);
      CHECK(e.column == 4);
      CHECK_THAT(e.detail, Contains("syntax error while parsing value"));
    }
  }
}

TEST_CASE("parse_json_text reads a 64 000-key object (the DOM is built in linear time)", "[unit][json_text]") {
  std::string doc = "{";
  for (int i = 0; i < 64'000; ++i) doc += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":" + std::to_string(i);
  doc += "}";
  const nlohmann::json j = parse_json_text(doc, "doc.json", {/*reject_duplicate_keys=*/true});
  REQUIRE(j.size() == 64'000);
  CHECK(j["k0"] == 0);
  CHECK(j["k31999"] == 31999);
  CHECK(j["k63999"] == 63999);
}
