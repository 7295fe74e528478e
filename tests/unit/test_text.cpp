#include "harness/util/text.h"

#include <catch2/catch.hpp>

TEST_CASE("python_is_blank follows str.strip() == ''", "[unit][text]") {
  CHECK(ptq::python_is_blank(""));
  CHECK(ptq::python_is_blank(" \n"));
  CHECK(ptq::python_is_blank("\t\x0b\x0c\r\x1c"));
  CHECK(ptq::python_is_blank("\xe3\x80\x80"));      // U+3000 ideographic space
  CHECK(ptq::python_is_blank("\xc2\xa0 \xc2\x85"));  // U+00A0, U+0085
  CHECK_FALSE(ptq::python_is_blank(" = Robert Boulter = \n"));
  CHECK_FALSE(ptq::python_is_blank("\xe2\x80\x8b"));  // U+200B zero-width space is not whitespace in Python
  CHECK_FALSE(ptq::python_is_blank("\xff"));
}

TEST_CASE("closest_match suggests near names only", "[unit][text]") {
  const std::vector<std::string> names = {"wikitext2", "c4", "c4_new", "text", "tokens"};
  CHECK(ptq::closest_match("wikitext", names) == "wikitext2");
  CHECK(ptq::closest_match("c4new", names) == "c4_new");
  CHECK(ptq::closest_match("completely-different", names).empty());
}

TEST_CASE("human-readable sizes and durations", "[unit][text]") {
  CHECK(ptq::human_bytes(512) == "512 B");
  CHECK(ptq::human_bytes(3 * 1024 * 1024) == "3.00 MiB");
  CHECK(ptq::human_duration(12.34) == "12.3s");
  CHECK(ptq::human_duration(245) == "4m 05s");
  CHECK(ptq::human_duration(3723) == "1h 02m 03s");
}

TEST_CASE("python_strip and python_capitalize follow Python", "[unit][text]") {
  CHECK(ptq::python_strip("  a b \n") == "a b");
  CHECK(ptq::python_strip("\xe3\x80\x80x\xc2\xa0") == "x");
  CHECK(ptq::python_strip(" \t ") == "");
  // 'hELLO wORLD'.capitalize() == 'Hello world'; 'éCOLE'.capitalize() == 'École'
  CHECK(ptq::python_capitalize("hELLO wORLD") == "Hello world");
  CHECK(ptq::python_capitalize("\xc3\xa9" "COLE") == "\xc3\x89" "cole");
  CHECK(ptq::python_capitalize("") == "");
  CHECK(ptq::python_capitalize("1ABC") == "1abc");
}
