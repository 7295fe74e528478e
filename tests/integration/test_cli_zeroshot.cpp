// `ptqbench eval` on zero-shot tasks end to end, checked against naive log-likelihoods computed here.
#include "evaluators/zeroshot/loglikelihood.h"
#include "evaluators/zeroshot/tasks.h"
#include "harness/model/checkpoint.h"
#include "harness/model/tokenizer.h"
#include "tests/support/cli_runner.h"
#include "tests/support/naive_llama.h"
#include "tests/support/random_model.h"
#include "tests/support/test_env.h"
#include "tests/support/test_tokenizer.h"
#include "tests/support/zeroshot_fixtures.h"

#include <ATen/ATen.h>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>

using Catch::Matchers::Contains;
using ptq::test::run_ptqbench;
using ptq::test::TempDir;

namespace fs = std::filesystem;

namespace {

// A random model with vocabulary 400, the tokenizer trained here, and the fixture files as --data-dir.
ptq::LlamaModel write_model(const TempDir& dir) {
  auto shape = ptq::test::TinyShape{};
  shape.vocab = 400;
  auto model = ptq::test::write_random_checkpoint(dir.file("model"), ptq::test::tiny_config(shape), 81);
  fs::copy_file(ptq::test::train_test_tokenizer(dir.path()), dir.file("model/tokenizer.model"));
  ptq::test::write_zeroshot_fixtures(dir.file("data"));
  return model;
}

struct Setup {
  TempDir dir;
  ptq::LlamaModel model = write_model(dir);
};

double naive_ll(const ptq::LlamaModel& m, const ptq::Tokenizer& tok, const ptq::eval::LoglikRequest& r,
                ptq::eval::LmEvalMode mode = ptq::eval::LmEvalMode::kV03) {
  const auto e = ptq::eval::encode_request(tok, r, mode);
  std::vector<int64_t> input(e.context.begin(), e.context.end());
  input.insert(input.end(), e.continuation.begin(), e.continuation.end() - 1);
  const auto logits = ptq::test::naive_logits(m, input);
  double ll = 0;
  for (size_t k = 0; k < e.continuation.size(); ++k) {
    const auto& row = logits[e.context.size() - 1 + k];
    double mx = -1e300, z = 0;
    for (const double v : row) mx = std::max(mx, v);
    for (const double v : row) z += std::exp(v - mx);
    ll += row[e.continuation[k]] - mx - std::log(z);
  }
  return ll;
}

// A Qwen-style tokenizer.json written here: byte-level BPE over the 256 byte characters (GPT-2's map,
// computed here), no merges, Qwen's split pattern, "<|endoftext|>" as EOS and no BOS.
void write_byte_level_tokenizer(const std::string& dir) {
  nlohmann::json vocab = nlohmann::json::object();
  int shifted = 256;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
    const int cp = printable ? b : shifted++;
    std::string utf8;
    if (cp < 0x80) utf8 = std::string(1, static_cast<char>(cp));
    else utf8 = {static_cast<char>(0xC0 | (cp >> 6)), static_cast<char>(0x80 | (cp & 0x3F))};
    vocab[utf8] = b;
  }
  const nlohmann::json tok = {
      {"added_tokens", {{{"id", 256}, {"content", "<|endoftext|>"}, {"special", true}, {"normalized", false}}}},
      {"normalizer", {{"type", "NFC"}}},
      {"pre_tokenizer",
       {{"type", "Sequence"},
        {"pretokenizers",
         {{{"type", "Split"},
           {"pattern", {{"Regex", "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"}}},
           {"behavior", "Isolated"}},
          {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}}}}},
      {"post_processor", {{"type", "ByteLevel"}}},
      {"decoder", {{"type", "ByteLevel"}}},
      {"model", {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr}, {"vocab", vocab}, {"merges", nlohmann::json::array()}}}};
  ptq::test::write_text(dir + "/tokenizer.json", tok.dump());
  ptq::test::write_text(dir + "/tokenizer_config.json",
                        R"({"tokenizer_class": "Qwen2Tokenizer", "bos_token": null, "eos_token": "<|endoftext|>", "add_bos_token": false})");
}

}  // namespace

TEST_CASE("eval runs every zero-shot task, piqa and boolq match naive log-likelihoods", "[integration][zeroshot]") {
  Setup s;
  const auto r = run_ptqbench({"eval", "--model", s.dir.file("model"), "--task",
                               "piqa,arc_easy,arc_challenge,boolq,hellaswag,winogrande,lambada_openai", "--data-dir",
                               s.dir.file("data"), "--batch-size", "4", "--json"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto j = nlohmann::json::parse(r.out);
  const auto& res = j["results"];
  CHECK(res["piqa"]["n"] == 3);
  CHECK(res["arc_challenge"]["n"] == 1);
  CHECK(res["hellaswag"]["requests"] == 12);
  CHECK(res["piqa"]["lm_eval_mode"] == "v0.3");
  CHECK(res["lambada_openai"]["ppl"]["value"].get<double>() > 1.0);
  CHECK(res["piqa"]["files"][1]["path"].get<std::string>().find("valid-labels.lst") != std::string::npos);

  // Independent: naive log-likelihoods, decisions by hand.
  const auto tok = ptq::Tokenizer::load(s.dir.file("model/tokenizer.model"));
  const auto piqa = ptq::eval::load_zeroshot_task("piqa", s.dir.file("data"));
  double acc = 0, acc_norm = 0;
  for (const auto& doc : piqa.docs) {
    const double a = naive_ll(s.model, tok, doc.requests[0]), b = naive_ll(s.model, tok, doc.requests[1]);
    acc += ((a >= b ? 0 : 1) == doc.gold);
    acc_norm += ((a / doc.choices[0].size() >= b / doc.choices[1].size() ? 0 : 1) == doc.gold);
  }
  CHECK(res["piqa"]["acc"]["value"].get<double>() == Approx(acc / 3));
  CHECK(res["piqa"]["acc_norm"]["value"].get<double>() == Approx(acc_norm / 3));
  const auto boolq = ptq::eval::load_zeroshot_task("boolq", s.dir.file("data"));
  double bacc = 0;
  for (const auto& doc : boolq.docs)
    bacc += ((naive_ll(s.model, tok, doc.requests[0]) > naive_ll(s.model, tok, doc.requests[1])) == (doc.gold == 0));
  CHECK(res["boolq"]["acc"]["value"].get<double>() == Approx(bacc / 3));

  // The average is over each task's reported metric, of the papers' six tasks: LAMBADA is not in it.
  double sum = 0;
  for (const auto& [name, t] : res.items())
    if (name != "lambada_openai") sum += t["reported_value"].get<double>();
  CHECK(j["average"]["value"].get<double>() == Approx(sum / 6));
  CHECK(j["average"]["covers"] == "the papers' 6 tasks");

  // The plain output is a table with the reported metric marked.
  const auto table = run_ptqbench({"eval", "--model", s.dir.file("model"), "--task", "piqa,boolq", "--data-dir",
                                   s.dir.file("data")});
  REQUIRE(table.exit_code == 0);
  CHECK_THAT(table.out, Contains("zero-shot (lm-eval v0.3 semantics):"));
  CHECK_THAT(table.out, Contains("| piqa "));
  CHECK_THAT(table.out, Contains("acc_norm*"));
  CHECK_THAT(table.out, Contains("| average "));
}

TEST_CASE("v0.4 mode and --limit change what is scored", "[integration][zeroshot]") {
  Setup s;
  const auto run = [&](const std::vector<std::string>& extra) {
    std::vector<std::string> args = {"eval", "--model", s.dir.file("model"), "--task", "winogrande",
                                     "--data-dir", s.dir.file("data"), "--json"};
    args.insert(args.end(), extra.begin(), extra.end());
    const auto r = run_ptqbench(args);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    return nlohmann::json::parse(r.out)["results"]["winogrande"];
  };
  CHECK(run({"--limit", "2"})["n"] == 2);
  CHECK(run({"--lm-eval-mode", "v0.4"})["lm_eval_mode"] == "v0.4");
}

TEST_CASE("perplexity and zero-shot tasks in one run from one data directory", "[integration][zeroshot]") {
  Setup s;
  fs::create_directories(s.dir.file("data/wikitext2"));
  ptq::test::write_text(s.dir.file("data/wikitext2/wiki.test.raw"), " \n = T = \n \n" + ptq::test::synthetic_text(40, 9));
  const auto r = run_ptqbench({"eval", "--model", s.dir.file("model"), "--task", "wikitext2,piqa", "--data-dir",
                               s.dir.file("data"), "--seqlen", "64", "--no-cache", "--json"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto j = nlohmann::json::parse(r.out);
  CHECK(j["results"]["wikitext2"]["protocol"] == "gptq_wikitext2");
  CHECK(j["results"]["piqa"]["n"] == 3);
}

TEST_CASE("zero-shot input errors exit 2 with one line", "[integration][zeroshot]") {
  Setup s;
  const auto one_line = [](const ptq::test::CliResult& r) {
    return r.exit_code == 2 && r.err.rfind("ptqbench: error: ", 0) == 0 && r.err.find('\n') == r.err.size() - 1;
  };
  ptq::test::write_text(s.dir.file("data/hellaswag/hellaswag_val.jsonl"), "{\"ind\": 1}\n{broken\n");
  const auto bad = run_ptqbench({"eval", "--model", s.dir.file("model"), "--task", "hellaswag", "--data-dir",
                                 s.dir.file("data")});
  INFO(bad.err);
  CHECK(one_line(bad));
  CHECK_THAT(bad.err, Contains("hellaswag_val.jsonl: line"));
  const auto mode = run_ptqbench({"eval", "--model", s.dir.file("model"), "--task", "piqa", "--data-dir",
                                  s.dir.file("data"), "--lm-eval-mode", "v0.5"});
  CHECK(one_line(mode));
  CHECK_THAT(mode.err, Contains("unknown lm-eval mode 'v0.5'"));
  CHECK_THAT(mode.err, Contains("(expected one of: v0.3, v0.4)"));
  const auto no_dir = run_ptqbench({"eval", "--model", s.dir.file("model"), "--task", "piqa", "--data", s.dir.file("x")});
  CHECK(one_line(no_dir));
  CHECK_THAT(no_dir.err, Contains("give --data-dir DIR"));
  const auto unknown = run_ptqbench({"eval", "--model", s.dir.file("model"), "--task", "piqa,hellaswog", "--data-dir",
                                     s.dir.file("data")});
  CHECK(one_line(unknown));
  CHECK_THAT(unknown.err, Contains("did you mean 'hellaswag'?"));
}

TEST_CASE("zero-shot on mistral, qwen2 and qwen3 checkpoints with a tokenizer.json and no BOS matches naive log-likelihoods",
          "[integration][zeroshot][arch]") {
  for (const std::string type : {"mistral", "qwen2", "qwen3"}) {
    TempDir dir;
    auto shape = ptq::test::TinyShape{};
    shape.vocab = 260;
    ptq::LlamaConfig c = ptq::test::tiny_config(shape);
    c.model_type = type;
    c.qkv_bias = type == "qwen2";
    c.qk_norm = type == "qwen3";
    if (type == "mistral") c.sliding_window = 4096;  // Mistral-7B-v0.1's; longer than every request here
    c.bos_token_id = -1;
    c.eos_token_ids = {256};
    const auto model = ptq::test::write_random_checkpoint(dir.file("model"), c, 82);
    write_byte_level_tokenizer(dir.file("model"));
    ptq::test::write_zeroshot_fixtures(dir.file("data"));
    const auto r = run_ptqbench({"eval", "--model", dir.file("model"), "--task", "piqa,boolq", "--data-dir",
                                 dir.file("data"), "--lm-eval-mode", "v0.4", "--json"});
    INFO(type << ": " << r.err);
    REQUIRE(r.exit_code == 0);
    const auto res = nlohmann::json::parse(r.out)["results"];
    const auto tok = ptq::Tokenizer::load(dir.file("model"));
    REQUIRE(tok.bos_id() == -1);
    const auto ll = [&](const ptq::eval::LoglikRequest& q) { return naive_ll(model, tok, q, ptq::eval::LmEvalMode::kV04); };
    const auto piqa = ptq::eval::load_zeroshot_task("piqa", dir.file("data"));
    double acc = 0;
    for (const auto& doc : piqa.docs) acc += ((ll(doc.requests[0]) >= ll(doc.requests[1]) ? 0 : 1) == doc.gold);
    CHECK(res["piqa"]["acc"]["value"].get<double>() == Approx(acc / piqa.docs.size()));
    CHECK(res["boolq"]["n"] == 3);
  }
}
