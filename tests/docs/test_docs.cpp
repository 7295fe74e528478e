// The README and docs/ as a newcomer uses them: every experiment example under experiments/examples/
// plans, every JSON block parses as the strict JSON ptqbench reads (no comments), every relative link and
// every repository path named points at a file that exists, every `ptqbench SUBCOMMAND` shown is one the
// binary has, and the README stays short enough to read (reference material lives in docs/).
#include "tests/support/cli_runner.h"
#include "tests/support/test_env.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <regex>
#include <set>
#include <sstream>

namespace fs = std::filesystem;
using ptq::test::run_ptqbench;

namespace {

// README.md and every docs/*.md, relative to the source directory.
std::vector<std::string> doc_files() {
  std::vector<std::string> files{"README.md"};
  for (const auto& e : fs::directory_iterator(ptq::test::source_dir() + "/docs"))
    if (e.path().extension() == ".md") files.push_back("docs/" + e.path().filename().string());
  std::sort(files.begin(), files.end());
  return files;
}

struct Fence {
  std::string lang, body;
  int line = 0;
};

// The fenced code blocks of a Markdown text, with their language tag and first line number.
std::vector<Fence> fences(const std::string& text) {
  std::vector<Fence> out;
  std::istringstream in(text);
  std::string line;
  int n = 0;
  Fence* open = nullptr;
  while (std::getline(in, line)) {
    ++n;
    if (line.rfind("```", 0) == 0) {
      if (open) {
        open = nullptr;
      } else {
        out.push_back({line.substr(3), "", n});
        open = &out.back();
      }
    } else if (open) {
      open->body += line + "\n";
    }
  }
  return out;
}

}  // namespace

TEST_CASE("every experiment example plans", "[integration][docs]") {
  const std::string src = ptq::test::source_dir();
  ptq::test::TempDir dir;
  int examples = 0;
  for (const auto& e : fs::directory_iterator(src + "/experiments/examples")) {
    if (e.path().extension() != ".json") continue;
    ++examples;
    // reference.json finds its data under $PTQ_DATA and its model under the unset $PTQ_MODELS (deferred).
    const auto r = run_ptqbench({"plan", e.path().string(), "-o", dir.file("plan.jsonl")},
                                "env -u PTQ_MODELS PTQ_DATA=" + src + "/experiments/data/tiny");
    INFO(e.path().string() << "\n" << r.err);
    CHECK(r.exit_code == 0);
    CHECK(ptq::test::read_text(dir.file("plan.jsonl")).find("\"run_id\"") != std::string::npos);
  }
  CHECK(examples >= 3);
}

TEST_CASE("every JSON block in the README and docs parses as strict JSON", "[integration][docs]") {
  // ```json blocks, and figures showing a JSON file (`$ cat X.json`, scripts/readme_figures).
  const std::regex cat_json(R"(^\$ cat \S+\.json\n)");
  int blocks = 0;
  for (const auto& f : doc_files()) {
    for (const auto& b : fences(ptq::test::read_text(ptq::test::source_dir() + "/" + f))) {
      std::smatch m;
      const bool figure = b.lang == "text" && std::regex_search(b.body, m, cat_json);
      if (b.lang != "json" && !figure) continue;
      ++blocks;
      INFO(f << ":" << b.line << "\n" << b.body);
      CHECK(nlohmann::json::accept(figure ? m.suffix().str() : b.body, /*ignore_comments=*/false));
    }
  }
  CHECK(blocks >= 1);
}

TEST_CASE("links and repository paths in the README and docs exist", "[integration][docs]") {
  const std::string src = ptq::test::source_dir();
  const std::regex link(R"(\]\(([^)#:\s]+)(#[^)]*)?\))");  // [text](relative/path#anchor), not URLs
  // A path token; a trailing '.' or '/' is punctuation or a folder.
  const std::regex path(R"((?:^|[\s`(])((?:experiments|scripts|docs|tests|harness|methods|evaluators)/[A-Za-z0-9_./-]*[A-Za-z0-9_-]))");
  const std::string hypothetical = "clip_rtn";  // docs/adding-a-method.md's worked example of a new method
  int checked = 0;
  for (const auto& f : doc_files()) {
    const std::string text = ptq::test::read_text(src + "/" + f);
    const fs::path base = fs::path(src + "/" + f).parent_path();
    for (auto it = std::sregex_iterator(text.begin(), text.end(), link); it != std::sregex_iterator(); ++it, ++checked) {
      INFO(f << ": link " << (*it)[1]);
      CHECK(fs::exists(base / (*it)[1].str()));
    }
    for (auto it = std::sregex_iterator(text.begin(), text.end(), path); it != std::sregex_iterator(); ++it, ++checked) {
      const std::string p = (*it)[1];
      if (p.find("...") != std::string::npos || p.find(hypothetical) != std::string::npos) continue;
      INFO(f << ": path " << p);
      CHECK(fs::exists(src + "/" + p));
    }
  }
  CHECK(checked > 10);
}

TEST_CASE("every ptqbench subcommand shown in the README and docs exists", "[integration][docs]") {
  const std::regex cmd(R"((?:^|[\s$])(?:build/bin/)?ptqbench\s+([a-z][a-z0-9-]+))");
  std::set<std::string> names;
  for (const auto& f : doc_files())
    for (const auto& b : fences(ptq::test::read_text(ptq::test::source_dir() + "/" + f)))
      if (b.lang == "sh" || b.lang == "bash" || b.lang == "text" || b.lang.empty())
        for (auto it = std::sregex_iterator(b.body.begin(), b.body.end(), cmd); it != std::sregex_iterator(); ++it)
          names.insert((*it)[1]);
  REQUIRE(names.size() >= 5);
  for (const auto& n : names) {
    const auto r = run_ptqbench({n, "--help"});
    INFO("ptqbench " << n << " --help\n" << r.err);
    CHECK(r.exit_code == 0);
  }
}

TEST_CASE("the README is short: reference material lives in docs/", "[integration][docs]") {
  const std::string text = ptq::test::read_text(ptq::test::source_dir() + "/README.md");
  CHECK(std::count(text.begin(), text.end(), '\n') <= 400);
}
