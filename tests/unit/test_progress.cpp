#include "harness/util/progress.h"

#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>

using Catch::Matchers::Contains;

TEST_CASE("piped progress prints plain lines with counts, detail and a final line", "[unit][progress]") {
  ::setenv("PTQ_PROGRESS", "plain", 1);
  std::FILE* f = std::tmpfile();
  {
    ptq::Progress p("eval", 3, 0.0, f);
    p.update(1, "ppl 9.0000");
    p.update(2, "ppl 8.0000");
    p.update(3, "ppl 7.0000");
    p.finish("ppl 7.0000");
  }
  std::rewind(f);
  std::string out;
  for (int c; (c = std::fgetc(f)) != EOF;) out += static_cast<char>(c);
  std::fclose(f);
  CHECK_THAT(out, Contains("eval 1/3  ppl 9.0000  | "));
  CHECK_THAT(out, Contains("ETA"));
  CHECK_THAT(out, Contains("eval done 3/3  ppl 7.0000"));
  CHECK(out.find('\r') == std::string::npos);  // no terminal control characters in logs
  ::unsetenv("PTQ_PROGRESS");
}
