// The `ptqbench` executable end to end, as a user runs it: checkpoints and data written by the test,
// results compared with independent computations made here, and bad input rejected with one line.
#include "harness/io/npy.h"
#include "harness/io/safetensors.h"
#include "harness/model/checkpoint.h"
#include "harness/model/tokenizer.h"
#include "tests/support/cli_runner.h"
#include "tests/support/naive_llama.h"
#include "tests/support/random_model.h"
#include "tests/support/test_env.h"
#include "tests/support/test_tokenizer.h"

#include <fmt/format.h>

#include <ATen/ATen.h>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using ptq::test::run_ptqbench;
using ptq::test::TempDir;

namespace fs = std::filesystem;

namespace {

// A WikiText-like raw file: title lines, text lines and " \n" blank lines, as in wiki.test.raw.
std::string wiki_like_raw() {
  const std::string body = ptq::test::synthetic_text(60, 7);
  std::string raw = " \n = Synthetic Article = \n \n";
  size_t pos = 0;
  int line = 0;
  while (pos < body.size()) {
    const size_t end = body.find('\n', pos);
    raw += " " + body.substr(pos, end - pos) + " \n";
    if (++line % 5 == 0) raw += " \n = = Section = = \n \n";
    pos = end + 1;
  }
  return raw;
}

// The HF rows of that simple file, joined - computed without the harness: a row is the line with its
// "\n", or "" when the line is only spaces.
std::string simple_join(const std::string& raw) {
  std::string out;
  size_t pos = 0;
  bool first = true;
  while (pos < raw.size()) {
    const size_t end = raw.find('\n', pos) + 1;
    const std::string line = raw.substr(pos, end - pos);
    if (!first) out += "\n\n";
    first = false;
    if (line.find_first_not_of(" \n") != std::string::npos) out += line;
    pos = end;
  }
  return out;
}

bool one_line_error(const ptq::test::CliResult& r) {
  return r.exit_code == 2 && r.err.rfind("ptqbench: error: ", 0) == 0 && r.err.find('\n') == r.err.size() - 1;
}

}  // namespace

TEST_CASE("eval --task tokens prints the ppl of an independent computation", "[integration][cli]") {
  TempDir dir;
  const auto model = ptq::test::write_random_checkpoint(dir.file("model"), ptq::test::tiny_config(), 31);
  const std::vector<int64_t> ids = ptq::test::write_token_ids(dir.file("ids.npy"), 3 * 32 + 7, 13, 5);
  const auto ref = ptq::test::naive_perplexity(model, ids, 32, 3);

  const auto r = run_ptqbench({"eval", "--model", dir.file("model"), "--task", "tokens", "--data", dir.file("ids.npy"),
                               "--seqlen", "32", "--threads", "1", "--json"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto doc = nlohmann::json::parse(r.out);
  const auto& j = doc["results"]["tokens"];
  CHECK(j["ppl"].get<double>() == Approx(ref.ppl).epsilon(1e-5));
  CHECK(j["nll"].get<double>() == Approx(ref.nll).epsilon(1e-5));
  CHECK(j["tokens"] == 3 * 31);
  CHECK(j["nsamples"] == 3);
  CHECK(j["protocol"] == "tokens");
  CHECK(j["seqlen"] == 32);
  CHECK(j["stderr"].get<double>() > 0);
  CHECK(j["hashes"]["data_sha256"].get<std::string>().size() == 64);
  CHECK(doc["environment"]["threads"] == 1);

  // The plain final line carries the same number.
  const auto plain = run_ptqbench({"eval", "--model", dir.file("model"), "--task", "tokens", "--data", dir.file("ids.npy"),
                                   "--seqlen", "32", "--limit", "2"});
  REQUIRE(plain.exit_code == 0);
  const auto ref2 = ptq::test::naive_perplexity(model, ids, 32, 2);
  CHECK_THAT(plain.out, StartsWith("tokens (tokens, seqlen 32): PPL = " + fmt::format("{:.4f}", ref2.ppl)));
  CHECK_THAT(plain.out, Contains("[2 of 3 segments"));
  CHECK_THAT(plain.err, Contains("tokens 2/2"));  // running ppl lines on stderr
}

TEST_CASE("eval --task wikitext2 reproduces the protocol on a tokenizer trained here", "[integration][cli]") {
  TempDir dir;
  auto shape = ptq::test::TinyShape{};
  shape.vocab = 400;
  const auto model = ptq::test::write_random_checkpoint(dir.file("model"), ptq::test::tiny_config(shape), 32);
  fs::copy_file(ptq::test::train_test_tokenizer(dir.path()), dir.file("model/tokenizer.model"));
  fs::create_directory(dir.file("wikitext-2-raw"));
  const std::string raw = wiki_like_raw();
  ptq::test::write_text(dir.file("wikitext-2-raw/wiki.test.raw"), raw);

  // Independent: join, tokenize with one BOS, cut into segments of 64, naive perplexity.
  const auto tok = ptq::Tokenizer::load(dir.file("model/tokenizer.model"));
  const auto ids32 = tok.encode_input(simple_join(raw));
  const std::vector<int64_t> ids(ids32.begin(), ids32.end());
  const int64_t nsamples = static_cast<int64_t>(ids.size()) / 64;
  REQUIRE(nsamples >= 3);
  const auto ref = ptq::test::naive_perplexity(model, ids, 64, nsamples);

  const std::vector<std::string> args = {"eval", "--model", dir.file("model"), "--task", "wikitext2",
                                         "--data", dir.file("wikitext-2-raw"), "--seqlen", "64",
                                         "--cache-dir", dir.file("cache"), "--json"};
  const auto r = run_ptqbench(args);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto j = nlohmann::json::parse(r.out)["results"]["wikitext2"];
  CHECK(j["nsamples"] == nsamples);
  CHECK(j["stream_tokens"] == static_cast<int64_t>(ids.size()));
  CHECK(j["protocol"] == "gptq_wikitext2");
  CHECK(j["ppl"].get<double>() == Approx(ref.ppl).epsilon(1e-5));
  CHECK(j["token_cache_hit"] == false);

  // Second run: the token stream comes from the cache, the result is identical.
  const auto again = run_ptqbench(args);
  REQUIRE(again.exit_code == 0);
  const auto j2 = nlohmann::json::parse(again.out)["results"]["wikitext2"];
  CHECK(j2["token_cache_hit"] == true);
  CHECK(j2["ppl"] == j["ppl"]);
  CHECK(j2["hashes"]["stream_sha256"] == j["hashes"]["stream_sha256"]);

  // seqlen above max_position_embeddings (128) is lowered with a notice.
  const auto longer = run_ptqbench({"eval", "--model", dir.file("model"), "--task", "wikitext2", "--data",
                                    dir.file("wikitext-2-raw/wiki.test.raw"), "--seqlen", "4096", "--no-cache"});
  REQUIRE(longer.exit_code == 0);
  CHECK_THAT(longer.err, Contains("seqlen 4096 exceeds max_position_embeddings; lowered to 128"));
  CHECK_THAT(longer.out, Contains("seqlen 128"));
}

TEST_CASE("info describes a checkpoint from its headers", "[integration][cli]") {
  TempDir dir;
  ptq::test::write_random_checkpoint(dir.file("model"), ptq::test::tiny_config(), 33);
  const auto r = run_ptqbench({"info", dir.file("model")});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Contains("llama: 2 layers, hidden 64, intermediate 96, vocab 97"));
  CHECK_THAT(r.out, Contains("4 heads x 16, 2 KV heads (GQA 2:1)"));
  CHECK_THAT(r.out, Contains("check        OK: all 21 tensors present"));
  const auto j = run_ptqbench({"info", dir.file("model"), "--json", "--tensors"});
  REQUIRE(j.exit_code == 0);
  const auto info = nlohmann::json::parse(j.out);
  CHECK(info["parameters"] == ptq::test::tiny_config().parameter_count());
  CHECK(info["tensors"].size() == 21);
  CHECK(info["check"]["ok"] == true);
}

TEST_CASE("bad input exits 2 with one line naming the problem", "[integration][cli]") {
  TempDir dir;
  ptq::test::write_random_checkpoint(dir.file("model"), ptq::test::tiny_config(), 34);
  ptq::io::write_npy_ids(dir.file("ids.npy"), at::arange(64, at::kLong));
  const auto eval_args = [&](const std::string& model, const std::string& task, const std::string& data) {
    return std::vector<std::string>{"eval", "--model", model, "--task", task, "--data", data, "--seqlen", "16"};
  };

  SECTION("a missing tensor") {
    fs::copy(dir.file("model"), dir.file("broken"));
    {
      // Drop the last tensor's bytes and its header entry by rewriting the file without it.
      ptq::io::SafetensorsFile f(dir.file("model/model.safetensors"));
      std::vector<std::pair<std::string, at::Tensor>> kept;
      for (const auto& t : f.tensors())
        if (t.name != "model.layers.1.mlp.down_proj.weight") kept.emplace_back(t.name, f.load(t.name));
      ptq::io::write_safetensors(dir.file("broken/model.safetensors"), kept);
    }
    const auto r = run_ptqbench(eval_args(dir.file("broken"), "tokens", dir.file("ids.npy")));
    CHECK(one_line_error(r));
    CHECK_THAT(r.err, Contains("missing tensor(s): model.layers.1.mlp.down_proj.weight"));
  }
  SECTION("a truncated safetensors file") {
    fs::copy(dir.file("model"), dir.file("truncated"));
    fs::resize_file(dir.file("truncated/model.safetensors"), fs::file_size(dir.file("model/model.safetensors")) - 100);
    const auto r = run_ptqbench(eval_args(dir.file("truncated"), "tokens", dir.file("ids.npy")));
    CHECK(one_line_error(r));
    CHECK_THAT(r.err, Contains("model.safetensors"));
    CHECK_THAT(r.err, Contains("truncated file"));
  }
  SECTION("a config with a wrong head count") {
    fs::copy(dir.file("model"), dir.file("heads"));
    auto j = ptq::test::tiny_config().to_json();
    j["num_attention_heads"] = 3;
    j.erase("head_dim");
    ptq::test::write_text(dir.file("heads/config.json"), j.dump());
    const auto r = run_ptqbench(eval_args(dir.file("heads"), "tokens", dir.file("ids.npy")));
    CHECK(one_line_error(r));
    CHECK_THAT(r.err, Contains("config.json: hidden_size 64 is not divisible by num_attention_heads 3"));
  }
  SECTION("a missing data file") {
    const auto r = run_ptqbench(eval_args(dir.file("model"), "tokens", dir.file("nope.npy")));
    CHECK(one_line_error(r));
    CHECK_THAT(r.err, Contains("data file for task tokens not found: " + dir.file("nope.npy")));
  }
  SECTION("an unknown task") {
    const auto r = run_ptqbench(eval_args(dir.file("model"), "wikitext", dir.file("ids.npy")));
    CHECK(one_line_error(r));
    CHECK_THAT(r.err, Contains("unknown task 'wikitext', did you mean 'wikitext2'?"));
  }
  SECTION("a text task without a tokenizer") {
    const auto r = run_ptqbench(eval_args(dir.file("model"), "wikitext2", dir.file("ids.npy")));
    CHECK(one_line_error(r));
    CHECK_THAT(r.err, Contains("needs a tokenizer"));
  }
  SECTION("a missing model directory") {
    const auto r = run_ptqbench(eval_args(dir.file("absent"), "tokens", dir.file("ids.npy")));
    CHECK(one_line_error(r));
    CHECK_THAT(r.err, Contains("model directory not found"));
  }
  SECTION("a malformed option") {
    const auto r = run_ptqbench({"eval", "--model", dir.file("model"), "--task", "tokens", "--data",
                                 dir.file("ids.npy"), "--seqlen", "many"});
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, StartsWith("ptqbench: error: "));
  }
  if (!at::hasCUDA()) {
    SECTION("CUDA requested on a machine without it") {
      const auto r = run_ptqbench({"eval", "--model", dir.file("model"), "--task", "tokens", "--data",
                                   dir.file("ids.npy"), "--device", "cuda"});
      CHECK(one_line_error(r));
      CHECK_THAT(r.err, Contains("--device cuda"));
    }
  }
}

TEST_CASE("tokenize prints tokenizer(text) as the evaluators see it, and bad input is exit 2", "[integration][cli]") {
  TempDir dir;
  fs::create_directories(dir.file("model"));
  fs::copy_file(ptq::test::train_test_tokenizer(dir.path()), dir.file("model/tokenizer.model"));
  ptq::test::write_text(dir.file("text.txt"), "The model learns.\n");
  const auto tok = ptq::Tokenizer::load(dir.file("model/tokenizer.model"));

  const auto r = run_ptqbench({"tokenize", "--model", dir.file("model"), "--file", dir.file("text.txt"), "--json"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(nlohmann::json::parse(r.out).get<std::vector<int32_t>>() == tok.encode_input("The model learns.\n"));
  const auto bare = run_ptqbench({"tokenize", "--model", dir.file("model"), "--text", "The model", "--no-special", "--json"});
  REQUIRE(bare.exit_code == 0);
  CHECK(nlohmann::json::parse(bare.out).get<std::vector<int32_t>>() == tok.encode("The model"));
  const auto plain = run_ptqbench({"tokenize", "--tokenizer", dir.file("model/tokenizer.model"), "--text", "The model"});
  REQUIRE(plain.exit_code == 0);
  CHECK_THAT(plain.out, Contains("(sentencepiece), tokenizer(text) = bos+text"));

  const auto none = run_ptqbench({"tokenize", "--model", dir.path(), "--text", "x"});
  CHECK(none.exit_code == 2);
  CHECK_THAT(none.err, Contains("no tokenizer.model, tokenizer.json or original/tokenizer.model"));
  CHECK(run_ptqbench({"tokenize", "--model", dir.file("model")}).exit_code == 2);  // neither --file nor --text
}
