// What a user of `ptqbench` sees (issue #28, CLI): the zero-shot average's one definition, LAMBADA's
// semantics, unknown commands / names with "did you mean", help, human units, perplexity stderr of one
// segment, progress counted in documents, `ls`. All on the embedded tiny model and its data with --limit,
// so each case takes about a second.
#include "evaluators/evaluator.h"
#include "evaluators/zeroshot/loglikelihood.h"
#include "evaluators/zeroshot/tasks.h"
#include "harness/io/safetensors.h"
#include "harness/model/tokenizer.h"
#include "tests/support/cli_runner.h"
#include "tests/support/result_fixtures.h"
#include "tests/support/test_env.h"

#include <ATen/ATen.h>
#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <regex>

using Catch::Matchers::Contains;
using ptq::test::tiny_model;
using ptq::test::tiny_data;
using ptq::test::run_ptqbench;
using ptq::test::TempDir;

namespace fs = std::filesystem;

namespace {


std::vector<std::string> eval_args(const std::string& tasks, const std::string& limit) {
  return {"eval", "--model", tiny_model(), "--task", tasks, "--data-dir", tiny_data(), "--limit", limit};
}

// The one line a bad input gets: "ptqbench: error: ..." and exit code 2.
void check_one_line_error(const ptq::test::CliResult& r, const std::string& expected_part) {
  INFO("stderr: " << r.err);
  CHECK(r.exit_code == 2);
  CHECK(r.err.rfind("ptqbench: error: ", 0) == 0);
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  CHECK_THAT(r.err, Contains(expected_part));
}

}  // namespace

TEST_CASE("eval's average covers the papers' tasks evaluated, never LAMBADA", "[integration][cli][average]") {
  const auto json = run_ptqbench([] {
    auto a = eval_args("piqa,arc_easy,boolq,lambada_openai", "20");
    a.push_back("--json");
    return a;
  }());
  REQUIRE(json.exit_code == 0);
  const auto j = nlohmann::json::parse(json.out);
  double three = 0;
  for (const char* t : {"piqa", "arc_easy", "boolq"}) three += j["results"][t]["reported_value"].get<double>() / 3;
  const double lambada = j["results"]["lambada_openai"]["reported_value"].get<double>();
  const double four = (3 * three + lambada) / 4;
  REQUIRE(std::abs(three - four) > 1e-3);  // the case can tell the two averages apart
  CHECK(j["average"]["value"].get<double>() == Approx(three).epsilon(1e-12));
  CHECK(j["average"]["tasks"] == nlohmann::json({"piqa", "arc_easy", "boolq"}));
  CHECK(j["average"]["covers"] == "3 of the papers' 6 tasks: piqa, arc_easy, boolq");

  const auto table = run_ptqbench(eval_args("piqa,arc_easy,boolq,lambada_openai", "20"));
  REQUIRE(table.exit_code == 0);
  CHECK_THAT(table.out, Contains(fmt::format("| average         |              | *         | {:>10.4f} |", three)));
  CHECK_THAT(table.out, Contains("average: mean of the * metrics of 3 of the papers' 6 tasks: piqa, arc_easy, boolq"));
  // --limit: partial, and the table says so (n of the task's documents).
  const int64_t total = j["results"]["piqa"]["n_total"].get<int64_t>();
  REQUIRE(total == 1000);  // experiments/data/tiny/piqa/valid.jsonl has 1000 lines
  CHECK_THAT(table.out, Contains("| piqa            |   20 of 1000 |"));
  CHECK_THAT(table.out, Contains("partial: --limit 20"));

  SECTION("--average chooses the tasks, LAMBADA included when named") {
    auto a = eval_args("piqa,boolq,lambada_openai", "20");
    a.insert(a.end(), {"--average", "piqa,lambada_openai", "--json"});
    const auto r = run_ptqbench(a);
    REQUIRE(r.exit_code == 0);
    const auto k = nlohmann::json::parse(r.out);
    const double two = (k["results"]["piqa"]["reported_value"].get<double>() + lambada) / 2;
    CHECK(k["average"]["value"].get<double>() == Approx(two).epsilon(1e-12));
    CHECK(k["average"]["covers"] == "chosen tasks: piqa, lambada_openai");
  }
  SECTION("--average naming a task not evaluated is an error with a suggestion") {
    auto a = eval_args("piqa,boolq", "20");
    a.insert(a.end(), {"--average", "piqa,bool"});
    check_one_line_error(run_ptqbench(a), "--average: 'bool' is not a zero-shot task of this evaluation, did you mean 'boolq'?");
  }
}

TEST_CASE("lambada_openai defaults to v0.4 semantics: v0.3 cannot match greedily with sentencepiece", "[integration][cli][lambada]") {
  // Why (independently of the harness's scoring): under v0.3 the target " word" is tokenized alone and
  // starts with a lone '▁' piece, which never follows a context in running text.
  const auto tok = ptq::Tokenizer::load(tiny_model() + "/tokenizer.model");
  const auto task = ptq::eval::load_zeroshot_task("lambada_openai", tiny_data());
  const int32_t lone = tok.encode(" x").at(0);
  for (size_t i = 0; i < 20; ++i) {
    const auto v03 = ptq::eval::encode_request(tok, task.docs[i].requests[0], ptq::eval::LmEvalMode::kV03);
    const auto v04 = ptq::eval::encode_request(tok, task.docs[i].requests[0], ptq::eval::LmEvalMode::kV04);
    CHECK(v03.continuation.at(0) == lone);
    CHECK(v04.continuation.at(0) != lone);
  }

  auto a = eval_args("piqa,lambada_openai", "20");
  a.push_back("--json");
  const auto def = run_ptqbench(a);
  REQUIRE(def.exit_code == 0);
  const auto j = nlohmann::json::parse(def.out);
  CHECK(j["results"]["lambada_openai"]["lm_eval_mode"] == "v0.4");
  CHECK(j["results"]["piqa"]["lm_eval_mode"] == "v0.3");  // the papers' semantics for multiple choice
  CHECK(j["results"]["lambada_openai"]["acc"]["value"].get<double>() > 0);
  CHECK_THAT(def.err, Contains("ptqbench: notice: lambada_openai uses lm-eval v0.4 semantics"));

  a.insert(a.end(), {"--lm-eval-mode", "v0.3"});
  const auto forced = run_ptqbench(a);
  REQUIRE(forced.exit_code == 0);
  const auto k = nlohmann::json::parse(forced.out);
  CHECK(k["results"]["lambada_openai"]["lm_eval_mode"] == "v0.3");
  CHECK(k["results"]["lambada_openai"]["acc"]["value"].get<double>() == 0);
  CHECK_THAT(forced.err, Contains("ptqbench: warning: lambada_openai under lm-eval v0.3 semantics"));
}

TEST_CASE("unknown commands suggest the closest, help works, errors point to the command's help", "[integration][cli][help]") {
  const auto typo = run_ptqbench({"evall"});
  check_one_line_error(typo, "unknown command 'evall', did you mean 'eval'? (expected one of: ");
  CHECK_THAT(typo.err, Contains("quantize"));
  CHECK_THAT(typo.err, Contains("report"));

  const auto help = run_ptqbench({"help"});
  CHECK(help.exit_code == 0);
  CHECK_THAT(help.out, Contains("quantize"));
  const auto help_eval = run_ptqbench({"help", "eval"});
  CHECK(help_eval.exit_code == 0);
  CHECK_THAT(help_eval.out, Contains("--lm-eval-mode"));
  check_one_line_error(run_ptqbench({"help", "evl"}), "did you mean 'eval'?");

  check_one_line_error(run_ptqbench({"eval", "--task", "piqa"}), "--model is required (see ptqbench eval --help)");
  const auto bogus = run_ptqbench({"eval", "--model", tiny_model(), "--task", "piqa", "--bogus"});
  check_one_line_error(bogus, "--bogus");
  CHECK_THAT(bogus.err, Contains("(see ptqbench eval --help)"));
  check_one_line_error(run_ptqbench({"eval", "--model", tiny_model(), "--tasks", "piqa"}), "'--tasks' is not an option, did you mean '--task'?");
}

TEST_CASE("unknown names are errors with a suggestion", "[integration][cli][names]") {
  TempDir dir;
  ptq::test::write_golden_fixture(dir.file("results"));
  REQUIRE(run_ptqbench({"ingest", "--results", dir.file("results")}).exit_code == 0);
  const std::string db = dir.file("results/ptqbench.db");

  const auto metric = run_ptqbench({"report", "--db", db, "--metrics", "wikitext_ppl"});
  check_one_line_error(metric, "--metrics: unknown metric 'wikitext_ppl', did you mean 'wikitext2_ppl'? (expected one of: ");
  CHECK_THAT(metric.err, Contains("zeroshot_avg"));
  CHECK(run_ptqbench({"report", "--db", db, "--metrics", "wikitext2_ppl"}).exit_code == 0);
  check_one_line_error(run_ptqbench({"report", "--db", db, "--experiment", "goldn"}),
                       "unknown experiment in " + db + " 'goldn', did you mean 'golden'?");
  check_one_line_error(run_ptqbench({"report", "--db", db, "--format", "htm"}), "did you mean 'html'?");
  check_one_line_error(run_ptqbench({"ls", "evaluatorz"}), "unknown list 'evaluatorz', did you mean 'evaluators'?");
  check_one_line_error(run_ptqbench(eval_args("piqa,arc_eays", "5")), "unknown task 'arc_eays', did you mean 'arc_easy'?");
  auto mode = eval_args("piqa", "5");
  mode.insert(mode.end(), {"--lm-eval-mode", "v0.04"});
  check_one_line_error(run_ptqbench(mode), "did you mean 'v0.4'?");
  auto dtype = eval_args("piqa", "5");
  dtype.insert(dtype.end(), {"--dtype", "fp33"});
  check_one_line_error(run_ptqbench(dtype), "--dtype: unknown value 'fp33', did you mean 'fp32'?");
  auto metric_override = eval_args("piqa", "5");
  metric_override.insert(metric_override.end(), {"--metric", "piqa=acc_nrom"});
  check_one_line_error(run_ptqbench(metric_override), "did you mean 'acc_norm'?");

  const std::vector<std::string> quantize = {"quantize", "--model", tiny_model(), "--out", dir.file("q")};
  auto method = quantize;
  method.insert(method.end(), {"--method", "omniqant", "--setting", "W4A16"});
  check_one_line_error(run_ptqbench(method), "did you mean 'omniquant'?");
  auto setting = quantize;
  setting.insert(setting.end(), {"--method", "rtn", "--setting", "W4A61"});
  check_one_line_error(run_ptqbench(setting), "W4A61");
  CHECK(!fs::exists(dir.file("q")));
}

TEST_CASE("info prints the parameter count in human units", "[integration][cli][info]") {
  // tiny-llama: vocab 2048, hidden 256, intermediate 768, 4 layers, 4 heads x 64, 2 KV heads, untied.
  const int64_t tiny = 2 * 2048 * 256 + 4 * (2 * 256 * 256 + 2 * 256 * 128 + 3 * 256 * 768 + 2 * 256) + 256;
  REQUIRE(tiny == 4196608);
  const auto r = run_ptqbench({"info", tiny_model()});
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Contains("parameters   4,196,608 (4.20 M)\n"));

  // Llama-2-7B's shape (config only; the weights check fails afterwards, as it should).
  TempDir dir;
  fs::create_directories(dir.file("m"));
  auto config = nlohmann::json::parse(ptq::test::read_text(tiny_model() + "/config.json"));
  config.update({{"hidden_size", 4096}, {"intermediate_size", 11008}, {"num_hidden_layers", 32}, {"num_attention_heads", 32},
                 {"num_key_value_heads", 32}, {"head_dim", 128}, {"vocab_size", 32000}, {"max_position_embeddings", 4096}});
  ptq::test::write_text(dir.file("m/config.json"), config.dump());
  ptq::io::write_safetensors(dir.file("m/model.safetensors"), {{"model.norm.weight", at::ones({4096})}});
  const int64_t b7 = 2 * int64_t{32000} * 4096 + 32 * (4 * int64_t{4096} * 4096 + 3 * int64_t{4096} * 11008 + 2 * 4096) + 4096;
  REQUIRE(b7 == 6738415616);
  const auto big = run_ptqbench({"info", dir.file("m")});
  CHECK_THAT(big.out, Contains("parameters   6,738,415,616 (6.74 B)\n"));
}

TEST_CASE("a one-segment perplexity has no stderr, said as such", "[integration][cli][ppl]") {
  const auto r = run_ptqbench({"eval", "--model", tiny_model(), "--task", "wikitext2", "--data-dir", tiny_data(), "--seqlen",
                               "128", "--limit", "1"});
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Contains("(stderr n/a: 1 segment)"));
  CHECK_THAT(r.out, Contains("[1 of "));
  CHECK_THAT(r.out, Contains("(--limit: partial)"));
  CHECK(r.out.find("nan") == std::string::npos);
  const auto j = run_ptqbench({"eval", "--model", tiny_model(), "--task", "wikitext2", "--data-dir", tiny_data(), "--seqlen",
                               "128", "--limit", "1", "--json"});
  REQUIRE(j.exit_code == 0);
  CHECK(nlohmann::json::parse(j.out)["results"]["wikitext2"]["stderr"].is_null());
}

TEST_CASE("zero-shot progress counts documents, as the table's n", "[integration][cli][progress]") {
  const auto r = run_ptqbench(eval_args("piqa,arc_easy", "20"), "PTQ_PROGRESS=plain");
  REQUIRE(r.exit_code == 0);
  // piqa: 2 requests per document; arc_easy: one per choice (3-5).
  CHECK_THAT(r.err, Contains("piqa done 20/20  documents (40/40 requests)"));
  CHECK(std::regex_search(r.err, std::regex("arc_easy done 20/20  documents \\((\\d+)/\\1 requests\\)")));
  CHECK(r.err.find("piqa done 40/40") == std::string::npos);
  CHECK_THAT(r.out, Contains("| piqa            |   20 of 1000 |"));
}

TEST_CASE("ls lists every evaluator with its metrics, and ls alone and unknown lists help", "[integration][cli][ls]") {
  const auto r = run_ptqbench({"ls", "evaluators"});
  REQUIRE(r.exit_code == 0);
  // Every task of the zero-shot table and every perplexity task, with each of its metrics.
  for (const auto& info : ptq::eval::evaluators().all()) {
    CHECK_THAT(r.out, Contains(info.name + " "));
    for (const auto& m : info.metrics) CHECK_THAT(r.out, Contains(m.name + (m.higher_is_better ? " (higher" : " (lower")));
  }
  for (const auto& t : ptq::eval::zeroshot_tasks()) CHECK_THAT(r.out, Contains(t.name + " "));
  CHECK(ptq::eval::zeroshot_tasks().size() == 7);
  CHECK_THAT(r.out, Contains("zeroshot_avg (higher is better)"));

  const auto all = run_ptqbench({"ls"});
  CHECK(all.exit_code == 0);
  CHECK_THAT(all.out, Contains("ptqbench ls methods"));
  CHECK_THAT(all.out, Contains("lambada_openai"));
  CHECK_THAT(all.out, Contains("omniquant"));
}
