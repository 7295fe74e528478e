// make-tiny end to end (the small variant) and the committed embedded default.
#include "harness/io/json_file.h"
#include "harness/io/sha256.h"
#include "tests/support/cli_runner.h"
#include "tests/support/test_env.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>

using Catch::Matchers::Contains;
using ptq::test::run_ptqbench;
using ptq::test::TempDir;

namespace fs = std::filesystem;

TEST_CASE("make-tiny is deterministic and its output is usable by eval and quantize", "[integration][tiny]") {
  TempDir dir;
  const auto a = run_ptqbench({"make-tiny", "--out", dir.file("a"), "--small", "--steps", "3"});
  INFO(a.err);
  REQUIRE(a.exit_code == 0);
  const auto b = run_ptqbench({"make-tiny", "--out", dir.file("b"), "--small", "--steps", "3"});
  REQUIRE(b.exit_code == 0);
  const auto ma = ptq::io::read_json_file(dir.file("a/tiny_manifest.json"));
  const auto mb = ptq::io::read_json_file(dir.file("b/tiny_manifest.json"));
  CHECK(ma["files"] == mb["files"]);
  CHECK(ma["files"].size() >= 16);
  CHECK(ma["files"].contains("models/tiny-llama/model.safetensors"));
  const auto report = nlohmann::json::parse(a.out);
  CHECK(report["test_ppl_rel_change_by_outliers"].get<double>() < 1e-4);
  CHECK(report["q_proj_input_max_over_median_min_over_layers"].get<double>() >= 20.0);

  const auto eval = run_ptqbench({"eval", "--model", dir.file("a/models/tiny-llama"), "--task",
                                  "wikitext2,c4,piqa,lambada_openai", "--data-dir", dir.file("a/data/tiny"),
                                  "--seqlen", "64", "--no-cache", "--json"});
  INFO(eval.err);
  REQUIRE(eval.exit_code == 0);
  const auto j = nlohmann::json::parse(eval.out);
  CHECK(j["results"]["wikitext2"]["ppl"].get<double>() == Approx(report["test_ppl"].get<double>()).epsilon(1e-6));
  CHECK(j["results"]["c4"]["nsamples"] == 256);
  const auto q = run_ptqbench({"quantize", "--model", dir.file("a/models/tiny-llama"), "--method", "rtn", "--setting",
                               "W4A4", "--out", dir.file("a/w4a4")});
  CHECK(q.exit_code == 0);
}

TEST_CASE("the committed embedded default matches its manifest and its report", "[integration][tiny]") {
  const fs::path root = fs::path(ptq::test::source_dir()) / "experiments";
  const auto manifest = ptq::io::read_json_file((root / "tiny_manifest.json").string());
  for (const auto& [file, sha] : manifest["files"].items()) {
    INFO(file);
    CHECK(ptq::io::sha256_file((root / file).string()) == sha.get<std::string>());
  }
  const auto report = ptq::io::read_json_file((root / "models/tiny-llama/make_tiny.json").string());
  const auto r = run_ptqbench({"eval", "--model", (root / "models/tiny-llama").string(), "--task", "wikitext2",
                               "--data-dir", (root / "data/tiny").string(), "--seqlen", "512", "--no-cache", "--json"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto j = nlohmann::json::parse(r.out);
  CHECK(j["results"]["wikitext2"]["ppl"].get<double>() == Approx(report["test_ppl"].get<double>()).epsilon(1e-6));
  CHECK(report["test_ppl"].get<double>() < report["unigram_test_ppl"].get<double>() / 4);
}
