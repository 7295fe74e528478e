// UTF-8 validation of text inputs (harness/util/utf8.h): every class of ill-formed sequence, valid 1-4
// byte sequences, the offsets reported, the UTF-16 heuristics, and agreement with a naive decoder written
// here (decode the code point, then check shortest form, surrogates and the U+10FFFF bound) on random bytes.
#include "evaluators/zeroshot/tasks.h"
#include "harness/data/text_sources.h"
#include "harness/util/errors.h"
#include "harness/util/utf8.h"
#include "tests/support/test_env.h"

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <random>
#include <string>

using Catch::Matchers::Contains;
using ptq::find_invalid_utf8;
using ptq::first_invalid_utf8;
using namespace std::string_literals;

namespace {

std::string bytes(std::initializer_list<int> b) {
  std::string s;
  for (int c : b) s += static_cast<char>(c);
  return s;
}

// The reference: decode by the bit pattern of the lead byte, then apply the rules the validator encodes
// as byte ranges. Returns the offset of the first sequence that fails, or -1.
int64_t naive_first_invalid(const std::string& s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    int len;
    uint32_t cp;
    if (b < 0x80) len = 1, cp = b;
    else if ((b & 0xE0) == 0xC0) len = 2, cp = b & 0x1F;
    else if ((b & 0xF0) == 0xE0) len = 3, cp = b & 0x0F;
    else if ((b & 0xF8) == 0xF0) len = 4, cp = b & 0x07;
    else return static_cast<int64_t>(i);
    for (int k = 1; k < len; ++k) {
      if (i + k >= s.size()) return static_cast<int64_t>(i);
      const auto c = static_cast<unsigned char>(s[i + k]);
      if ((c & 0xC0) != 0x80) return static_cast<int64_t>(i);
      cp = (cp << 6) | (c & 0x3F);
    }
    const uint32_t min_cp[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_cp[len] || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) return static_cast<int64_t>(i);
    i += static_cast<size_t>(len);
  }
  return -1;
}

}  // namespace

TEST_CASE("valid UTF-8 of every length passes", "[unit][utf8]") {
  CHECK_FALSE(first_invalid_utf8(""));
  CHECK_FALSE(first_invalid_utf8("plain ASCII text, longer than eight bytes\n"));
  CHECK_FALSE(first_invalid_utf8(bytes({0xC2, 0x80})));              // U+0080, the smallest 2-byte
  CHECK_FALSE(first_invalid_utf8(bytes({0xDF, 0xBF})));              // U+07FF
  CHECK_FALSE(first_invalid_utf8(bytes({0xE0, 0xA0, 0x80})));        // U+0800, the smallest 3-byte
  CHECK_FALSE(first_invalid_utf8(bytes({0xED, 0x9F, 0xBF})));        // U+D7FF, just below the surrogates
  CHECK_FALSE(first_invalid_utf8(bytes({0xEE, 0x80, 0x80})));        // U+E000, just above them
  CHECK_FALSE(first_invalid_utf8(bytes({0xEF, 0xBF, 0xBF})));        // U+FFFF
  CHECK_FALSE(first_invalid_utf8(bytes({0xF0, 0x90, 0x80, 0x80})));  // U+10000, the smallest 4-byte
  CHECK_FALSE(first_invalid_utf8(bytes({0xF4, 0x8F, 0xBF, 0xBF})));  // U+10FFFF, the largest
  CHECK_FALSE(first_invalid_utf8("caf\xc3\xa9 \xe2\x80\x94 \xf0\x9f\x98\x80 \xe4\xb8\xad\xe6\x96\x87"));
  CHECK_FALSE(first_invalid_utf8("a\0b"s));  // NUL is a valid code point
}

TEST_CASE("each class of ill-formed sequence is found at its offset", "[unit][utf8]") {
  const std::string pre = "0123456789";  // 10 ASCII bytes: offsets below are 10 unless said
  struct Case {
    std::string tail;
    const char* why;
  };
  const Case cases[] = {
      {bytes({0x80}), "continuation byte without a lead byte"},
      {bytes({0xBF, 0x41}), "continuation byte without a lead byte"},
      {bytes({0xC0, 0x80}), "overlong"},                // U+0000 in two bytes
      {bytes({0xC1, 0xBF}), "overlong"},                // U+007F in two bytes
      {bytes({0xE0, 0x9F, 0xBF}), "overlong"},          // U+07FF in three bytes
      {bytes({0xF0, 0x8F, 0xBF, 0xBF}), "overlong"},    // U+FFFF in four bytes
      {bytes({0xED, 0xA0, 0x80}), "surrogate"},         // U+D800
      {bytes({0xED, 0xBF, 0xBF}), "surrogate"},         // U+DFFF
      {bytes({0xF4, 0x90, 0x80, 0x80}), "above U+10FFFF"},  // U+110000
      {bytes({0xF5, 0x80, 0x80, 0x80}), "above U+10FFFF"},
      {bytes({0xFF}), "never occurs"},
      {bytes({0xFE}), "never occurs"},
      {bytes({0xC3, 0x41}), "cut short"},               // 2-byte lead, then ASCII
      {bytes({0xE2, 0x82, 0x41}), "cut short"},         // 3-byte lead, one continuation, then ASCII
      {bytes({0xF0, 0x9F, 0x98, 0x41}), "cut short"},
      {bytes({0xC3}), "end of the input"},              // truncated at the end
      {bytes({0xE2, 0x82}), "end of the input"},
      {bytes({0xF0, 0x9F, 0x98}), "end of the input"},
  };
  for (const auto& c : cases) {
    INFO("tail bytes: " << c.tail.size());
    const bool at_end = std::string(c.why) == "end of the input";  // nothing may follow a truncated tail
    const auto p = find_invalid_utf8(pre + c.tail + (at_end ? "" : "tail"));
    REQUIRE(p);
    CHECK(p->offset == 10);
    CHECK_THAT(p->why, Contains(c.why));
  }
  // The first of several; a valid multi-byte sequence before it moves the offset by its length.
  CHECK(first_invalid_utf8("\xc3\xa9\xe2\x80\x94x\xff\xff") == size_t{6});
  // The fast path (8 ASCII bytes at a time) does not skip a bad byte in the next word.
  CHECK(first_invalid_utf8(std::string(16, 'a') + "\x80" + std::string(16, 'a')) == size_t{16});
  CHECK(first_invalid_utf8(std::string(15, 'a') + "\x80") == size_t{15});
}

TEST_CASE("the validator agrees with a naive decoder on random bytes", "[unit][utf8]") {
  std::mt19937 rng(29);
  // Bytes biased towards the interesting ranges: lead bytes, continuation bytes and ASCII.
  const int pool[] = {0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF,
                      0xE0, 0xE1, 0xEC, 0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xFF};
  std::uniform_int_distribution<int> pick(0, static_cast<int>(std::size(pool)) - 1), len(0, 12);
  int invalid = 0;
  for (int t = 0; t < 20000; ++t) {
    std::string s;
    for (int k = len(rng); k > 0; --k) s += static_cast<char>(pool[pick(rng)]);
    const int64_t expected = naive_first_invalid(s);
    const auto got = first_invalid_utf8(s);
    INFO("case " << t);
    REQUIRE(got.has_value() == (expected >= 0));
    if (got) {
      CHECK(static_cast<int64_t>(*got) == expected);
      ++invalid;
    }
  }
  CHECK(invalid > 1000);       // the pool produces both outcomes often
  CHECK(invalid < 20000 - 500);
}

TEST_CASE("UTF-16 is recognised and named", "[unit][utf8]") {
  CHECK(ptq::looks_like_utf16(bytes({0xFF, 0xFE, 'h', 0, 'i', 0})));  // UTF-16LE with its byte-order mark
  CHECK(ptq::looks_like_utf16(bytes({0xFE, 0xFF, 0, 'h', 0, 'i'})));  // UTF-16BE
  CHECK(ptq::looks_like_utf16("h\0e\0l\0l\0o\0"s));     // no mark, every other byte NUL
  CHECK_FALSE(ptq::looks_like_utf16("hello world"));
  CHECK_FALSE(ptq::looks_like_utf16("a few\0 NULs\0 in a long enough line of text"s));
  CHECK_THROWS_MATCHES(ptq::require_utf8(bytes({0xFF, 0xFE, 'h', 0}), "wiki.test.raw"), ptq::InputError,
                       Catch::Matchers::Message("wiki.test.raw: looks like UTF-16 (a byte-order mark or NUL bytes); "
                                                "convert it to UTF-8 (e.g. iconv -f UTF-16 -t UTF-8)"));
}

TEST_CASE("require_utf8 names the file, the offset and the bytes", "[unit][utf8]") {
  CHECK_NOTHROW(ptq::require_utf8("caf\xc3\xa9", "x.txt"));
  // Latin-1 "café": E9 followed by a space is a 3-byte lead cut short.
  CHECK_THROWS_MATCHES(ptq::require_utf8("un caf\xe9 noir", "data/latin1.txt"), ptq::InputError,
                       Catch::Matchers::Message("data/latin1.txt: not valid UTF-8 at byte offset 6 (sequence cut "
                                                "short: bytes E9 20 6E 6F); convert it to UTF-8"));
  CHECK_THROWS_MATCHES(ptq::require_utf8("ab\xed\xa0\x80", "t"), ptq::InputError,
                       Catch::Matchers::Message("t: not valid UTF-8 at byte offset 2 (UTF-16 surrogate "
                                                "(U+D800..U+DFFF): bytes ED A0 80); convert it to UTF-8"));
}

TEST_CASE("validation is linear: 64 MiB of mixed text in well under a second", "[unit][utf8]") {
  std::string block = "The quick brown fox jumps over the lazy dog. caf\xc3\xa9 \xe4\xb8\xad\xe6\x96\x87 \xf0\x9f\x98\x80\n";
  std::string text;
  text.reserve(64u << 20);
  while (text.size() + block.size() <= (64u << 20)) text += block;
  const auto t0 = std::chrono::steady_clock::now();
  CHECK_FALSE(first_invalid_utf8(text));
  text.back() = '\xff';
  CHECK(first_invalid_utf8(text) == text.size() - 1);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  CHECK(s < 1.0);  // two passes; about 0.1 s at 1 GB/s; a quadratic validator would never finish
}

TEST_CASE("text inputs are checked where they are read: text files, C4/JSON lines, task files", "[unit][utf8]") {
  ptq::test::TempDir dir;
  // A WikiText / --data text file in Latin-1.
  ptq::test::write_text(dir.file("wiki.test.raw"), " = Valkyria = \n caf\xe9 \n");
  CHECK_THROWS_MATCHES(ptq::eval::read_text_file(dir.file("wiki.test.raw")), ptq::InputError,
                       Catch::Matchers::Message(dir.file("wiki.test.raw") + ": not valid UTF-8 at byte offset 19 "
                                                "(sequence cut short: bytes E9 20 0A); convert it to UTF-8"));
  // The same text saved as UTF-16LE by an editor.
  ptq::test::write_text(dir.file("utf16.txt"), "\xff\xfe=\0 \0V\0"s);
  CHECK_THROWS_WITH(ptq::eval::read_text_file(dir.file("utf16.txt")), Contains("utf16.txt: looks like UTF-16"));
  // JSON lines: the offset is the file's, before any JSON parsing (line 2 starts at byte 15).
  ptq::test::write_text(dir.file("c4.jsonl"), "{\"text\": \"ok\"}\n{\"text\": \"caf\xe9\"}\n");
  CHECK_THROWS_WITH(ptq::eval::read_c4_texts(dir.file("c4.jsonl")),
                    Contains("c4.jsonl: not valid UTF-8 at byte offset 28 (sequence cut short"));
  CHECK_THROWS_WITH(ptq::eval::read_jsonl_texts({dir.file("c4.jsonl"), "text"}), Contains("byte offset 28"));
  ptq::test::write_text(dir.file("boolq.jsonl"),
                        "{\"question\": \"is it\", \"passage\": \"\xed\xa0\x80\", \"label\": true}\n");
  CHECK_THROWS_WITH(ptq::eval::load_boolq(dir.file("boolq.jsonl")),
                    Contains("boolq.jsonl: not valid UTF-8 at byte offset 34 (UTF-16 surrogate"));
  // Valid text reads as it is.
  ptq::test::write_text(dir.file("good.txt"), "caf\xc3\xa9\n");
  CHECK(ptq::eval::read_text_file(dir.file("good.txt")) == "caf\xc3\xa9\n");
}
