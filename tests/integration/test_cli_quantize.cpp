// `ptqbench quantize` + `ptqbench eval` end to end: the written checkpoint reproduces the in-process
// perplexity exactly, and bad requests fail with one line before anything is written.
#include "evaluators/perplexity/perplexity.h"
#include "harness/io/npy.h"
#include "harness/io/safetensors.h"
#include "harness/model/checkpoint.h"
#include "methods/register_all.h"
#include "tests/support/cli_runner.h"
#include "tests/support/random_model.h"
#include "tests/support/test_env.h"

#include <ATen/ATen.h>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>

using Catch::Matchers::Contains;
using ptq::test::run_ptqbench;
using ptq::test::TempDir;

namespace fs = std::filesystem;

namespace {

struct Fixture {
  TempDir dir;
  Fixture() {
    ptq::test::write_random_checkpoint(dir.file("fp"), ptq::test::tiny_config(), 61);
    ptq::test::write_token_ids(dir.file("ids.npy"), 4 * 32, 17, 3);
  }
  double eval_ppl(const std::string& model) const {
    const auto r = run_ptqbench({"eval", "--model", model, "--task", "tokens", "--data", dir.file("ids.npy"),
                                 "--seqlen", "32", "--json"});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    return nlohmann::json::parse(r.out)["results"]["tokens"]["ppl"].get<double>();
  }
  ptq::test::CliResult quantize(const std::string& setting, const std::string& out,
                                std::vector<std::string> extra = {}) const {
    std::vector<std::string> args = {"quantize", "--model", dir.file("fp"), "--method", "rtn", "--setting", setting,
                                     "--out", out};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_ptqbench(args);
  }
};

// WikiText-2 perplexity of a model directory on the first 4 windows of 256 tokens of `data`.
double wikitext_ppl(const std::string& model, const std::string& data) {
  const auto e = run_ptqbench({"eval", "--model", model, "--task", "wikitext2", "--data", data, "--seqlen", "256",
                               "--limit", "4", "--json", "--no-cache"});
  INFO(e.err);
  REQUIRE(e.exit_code == 0);
  return nlohmann::json::parse(e.out)["results"]["wikitext2"]["ppl"].get<double>();
}

bool one_line_error(const ptq::test::CliResult& r) {
  return r.exit_code == 2 && r.err.rfind("ptqbench: error: ", 0) == 0 && r.err.find('\n') == r.err.size() - 1;
}

}  // namespace

TEST_CASE("W16A16 through quantize + eval equals the FP model bit for bit", "[integration][quantize]") {
  Fixture f;
  const auto q = f.quantize("W16A16", f.dir.file("w16"));
  INFO(q.err);
  REQUIRE(q.exit_code == 0);
  CHECK(f.eval_ppl(f.dir.file("w16")) == f.eval_ppl(f.dir.file("fp")));
}

TEST_CASE("a quantized checkpoint reproduces the in-process perplexity exactly", "[integration][quantize]") {
  Fixture f;
  for (const std::string setting : {"W4A4", "W3A16g16"}) {
    INFO(setting);
    const auto q = f.quantize(setting, f.dir.file(setting));
    INFO(q.err);
    REQUIRE(q.exit_code == 0);

    auto model = ptq::load_llama(f.dir.file("fp"));
    const auto& rtn = ptq::methods::registry().get("rtn");
    ptq::quant::MethodContext ctx;
    rtn.apply(model, ptq::quant::QuantSetting::parse(setting), rtn.default_config(), ctx);
    ptq::eval::PplOptions o;
    o.seqlen = 32;
    o.progress = false;
    const double in_process = ptq::eval::evaluate_perplexity(model, ptq::io::read_npy_ids(f.dir.file("ids.npy")), o).ppl;
    CHECK(f.eval_ppl(f.dir.file(setting)) == in_process);
    CHECK(in_process != f.eval_ppl(f.dir.file("fp")));

    const auto doc = nlohmann::json::parse(ptq::test::read_text(f.dir.file(setting + "/quantization.json")));
    CHECK(doc["setting"] == setting);
    CHECK(doc["method"] == "rtn");
    CHECK(doc["config"] == rtn.default_config());
    CHECK(doc["calibration"].is_null());
    CHECK(doc["format_version"] == 1);
    ptq::io::SafetensorsFile qparams(f.dir.file(setting + "/quant_params.safetensors"));
    CHECK(qparams.tensors().size() == 2 * 7 * 2);
    CHECK(qparams.find("model.layers.1.self_attn.o_proj.weight_zero") != nullptr);
  }
  // info and eval name the quantization.
  const auto info = run_ptqbench({"info", f.dir.file("W4A4")});
  CHECK_THAT(info.out, Contains("quantized    W4A4 by rtn"));
  const auto plain = run_ptqbench({"eval", "--model", f.dir.file("W4A4"), "--task", "tokens", "--data",
                                   f.dir.file("ids.npy"), "--seqlen", "32"});
  CHECK_THAT(plain.out, Contains("(tokens, seqlen 32, W4A4 rtn): PPL = "));
  CHECK_THAT(plain.err, Contains("activation quantization re-applied"));
}

TEST_CASE("quantize refuses bad requests before writing anything", "[integration][quantize]") {
  Fixture f;
  const auto out = f.dir.file("out");
  SECTION("invalid setting") {
    const auto r = f.quantize("W0A4", out);
    CHECK(one_line_error(r));
    CHECK_THAT(r.err, Contains("weight bits 0"));
  }
  SECTION("group that does not divide the model") {
    const auto r = f.quantize("W4A16g100", out);
    CHECK(one_line_error(r));
    CHECK_THAT(r.err, Contains("group size 100 does not divide in_features 64"));
  }
  SECTION("unknown method") {
    const auto r = run_ptqbench({"quantize", "--model", f.dir.file("fp"), "--method", "spqr", "--setting", "W4A16",
                                 "--out", out});
    CHECK(one_line_error(r));
    CHECK_THAT(r.err, Contains("unknown method 'spqr' (available: awq, cbq, gptq, lrquant, mppq, omniquant, rtn)"));
  }
  SECTION("unknown config key") {
    const auto r = f.quantize("W4A16", out, {"--config", R"({"rnage": "minmax"})"});
    CHECK(one_line_error(r));
    CHECK_THAT(r.err, Contains("unknown key \"rnage\", did you mean \"range\"?"));
  }
  SECTION("config that is not JSON") {
    const auto r = f.quantize("W4A16", out, {"--config", "{range: minmax"});
    CHECK(one_line_error(r));
    CHECK_THAT(r.err, Contains("--config argument: not valid JSON"));
  }
  SECTION("an existing output directory without --overwrite") {
    REQUIRE(f.quantize("W4A16", out).exit_code == 0);
    const auto r = f.quantize("W4A4", out);
    CHECK(one_line_error(r));
    CHECK_THAT(r.err, Contains("already exists"));
    CHECK_THAT(ptq::test::read_text(out + "/quantization.json"), Contains("\"W4A16\""));  // untouched
    REQUIRE(f.quantize("W4A4", out, {"--overwrite"}).exit_code == 0);
    CHECK_THAT(ptq::test::read_text(out + "/quantization.json"), Contains("\"W4A4\""));
  }
  SECTION("no partial directories are left behind") {
    f.quantize("W4A16g100", out);
    for (const auto& e : fs::directory_iterator(f.dir.path()))
      CHECK(e.path().filename().string().find(".partial") == std::string::npos);
  }
  CHECK(!fs::exists(out + "/model.safetensors.tmp"));
}

TEST_CASE("ls lists methods, settings and evaluators", "[integration][cli]") {
  const auto methods = run_ptqbench({"ls", "methods"});
  REQUIRE(methods.exit_code == 0);
  CHECK_THAT(methods.out, Contains("rtn"));
  CHECK_THAT(methods.out, Contains("default config: {\"range\":\"minmax\"}"));
  CHECK_THAT(methods.out, Contains("in paper tables: OmniQuant"));  // declared by the method
  const auto settings = run_ptqbench({"ls", "settings"});
  CHECK_THAT(settings.out, Contains("W4A16g128"));
  CHECK_THAT(settings.out, Contains("W4A4"));
  CHECK_THAT(run_ptqbench({"ls", "evaluators"}).out, Contains("wikitext2"));
  const auto bad = run_ptqbench({"ls", "models"});
  CHECK(one_line_error(bad));
}

TEST_CASE("a model type a method cannot quantize fails with one line naming both, before anything is loaded",
          "[integration][quantize][arch]") {
  TempDir dir;
  ptq::LlamaConfig qwen3 = ptq::test::tiny_config();
  qwen3.model_type = "qwen3";
  qwen3.qk_norm = true;
  ptq::test::write_random_checkpoint(dir.file("qwen3"), qwen3, 62);
  // LET (on at W4A4) with its default q/k scale cannot pass qwen3's q/k norms.
  const auto r = run_ptqbench({"quantize", "--model", dir.file("qwen3"), "--method", "omniquant", "--setting", "W4A4",
                               "--out", dir.file("q")});
  CHECK(one_line_error(r));
  CHECK_THAT(r.err, Contains("omniquant: model_type qwen3 normalises each head of q and k"));
  CHECK_FALSE(fs::exists(dir.file("q")));
  // Calibration windows longer than a sliding window.
  ptq::LlamaConfig mistral = ptq::test::tiny_config();
  mistral.model_type = "mistral";
  mistral.sliding_window = 32;
  ptq::test::write_random_checkpoint(dir.file("mistral"), mistral, 63);
  const auto w = run_ptqbench({"quantize", "--model", dir.file("mistral"), "--method", "omniquant", "--setting", "W4A16",
                               "--seqlen", "64", "--out", dir.file("q")});
  CHECK(one_line_error(w));
  CHECK_THAT(w.err, Contains("model_type mistral with sliding_window 32: a 64-token sequence"));
}

TEST_CASE("quantize with a calibrated method: windows drawn from --calib-data, recorded, evaluated back",
          "[integration][quantize]") {
  TempDir dir;
  const std::string src = ptq::test::source_dir();
  const std::string model = src + "/experiments/models/tiny-llama", data = src + "/experiments/data/tiny/wikitext2";
  const auto missing = run_ptqbench({"quantize", "--model", model, "--method", "omniquant", "--setting", "W3A16", "--out",
                                     dir.file("q")});
  CHECK(one_line_error(missing));
  CHECK_THAT(missing.err, Contains("needs calibration data: give --calib-data"));
  CHECK_FALSE(fs::exists(dir.file("q")));

  const auto q = run_ptqbench({"quantize", "--model", model, "--method", "omniquant", "--setting", "W3A16", "--calib-data",
                               data, "--nsamples", "4", "--seqlen", "64", "--seed", "7", "--config", "{\"epochs\": 1}",
                               "--out", dir.file("q"), "--no-cache"});
  INFO(q.err);
  REQUIRE(q.exit_code == 0);
  const auto doc = nlohmann::json::parse(ptq::test::read_text(dir.file("q/quantization.json")));
  CHECK(doc["method"] == "omniquant");
  CHECK(doc["calibration"]["n"] == 4);
  CHECK(doc["calibration"]["seed"] == 7);
  CHECK(doc["calibration"]["provenance"]["windows_sha256"].get<std::string>().size() == 64);
  CHECK(doc["method_summary"]["recon"]["blocks"].size() == 4);
  // One epoch on 4 x 64 tokens already recovers part of RTN's loss (the committed model's heavy-tailed
  // weights make RTN W3A16 several times worse than FP: 34x on the whole test split).
  const auto rtn = run_ptqbench({"quantize", "--model", model, "--method", "rtn", "--setting", "W3A16", "--out", dir.file("rtn")});
  REQUIRE(rtn.exit_code == 0);
  const double fp = wikitext_ppl(model, data), ppl = wikitext_ppl(dir.file("q"), data), rtn_ppl = wikitext_ppl(dir.file("rtn"), data);
  CHECK(ppl > fp);
  CHECK(ppl < rtn_ppl);
}

TEST_CASE("quantize with LRQuant W4A4: trained shifts become declared biases, the checkpoint evaluates back",
          "[integration][quantize]") {
  TempDir dir;
  const std::string src = ptq::test::source_dir();
  const std::string model = src + "/experiments/models/tiny-llama", data = src + "/experiments/data/tiny/wikitext2";
  const auto q = run_ptqbench({"quantize", "--model", model, "--method", "lrquant", "--setting", "W4A4", "--calib-data", data,
                               "--nsamples", "4", "--seqlen", "64", "--config", "{\"epochs\": 1}", "--nan-policy",
                               "skip-block", "--out", dir.file("q"), "--no-cache"});
  INFO(q.err);
  REQUIRE(q.exit_code == 0);
  const auto config = nlohmann::json::parse(ptq::test::read_text(dir.file("q/config.json")));
  CHECK(config["attention_bias"] == true);
  CHECK(config["ptqbench_norm_bias"] == true);
  const auto doc = nlohmann::json::parse(ptq::test::read_text(dir.file("q/quantization.json")));
  CHECK(doc["config"]["nan_policy"] == "skip-block");
  CHECK(doc["method_summary"]["let_options"]["init"] == "lae");
  // RTN W4A4 is several times FP on this model (activation outliers); one epoch of LET + LWC is not.
  CHECK(wikitext_ppl(dir.file("q"), data) < 2 * wikitext_ppl(model, data));
}

TEST_CASE("quantize --stream on writes the checkpoint --stream off writes, byte for byte, and leaves no spill behind",
          "[integration][quantize][streaming]") {
  TempDir dir;
  const std::string src = ptq::test::source_dir();
  const std::string model = src + "/experiments/models/tiny-llama", data = src + "/experiments/data/tiny/wikitext2";
  // LRQuant W4A4: LET folds shifts into biases of some blocks only, so the streamed bias layout is exercised.
  for (const std::string stream : {"off", "on"}) {
    const auto q = run_ptqbench({"quantize", "--model", model, "--method", "lrquant", "--setting", "W4A4", "--calib-data", data,
                                 "--nsamples", "4", "--seqlen", "64", "--config", "{\"epochs\": 1, \"tta\": false}",
                                 "--stream", stream, "--out", dir.file("q_" + stream), "--no-cache"});
    INFO(q.err);
    REQUIRE(q.exit_code == 0);
    const auto doc = nlohmann::json::parse(ptq::test::read_text(dir.file("q_" + stream + "/quantization.json")));
    CHECK(doc["streamed"] == (stream == "on"));
    CHECK(doc["memory"]["peak_rss_gb"].get<double>() > 0);
  }
  for (const char* file : {"model.safetensors", "config.json", "quant_params.safetensors"}) {
    INFO(file);
    CHECK(ptq::test::read_text(dir.file(std::string("q_off/") + file)) == ptq::test::read_text(dir.file(std::string("q_on/") + file)));
  }
  std::vector<std::string> left;
  for (const auto& e : fs::directory_iterator(dir.path())) left.push_back(e.path().filename().string());
  std::sort(left.begin(), left.end());
  CHECK(left == std::vector<std::string>{"q_off", "q_on"});  // the spill directory is gone

  std::vector<double> ppl;
  for (const std::string stream : {"off", "on"}) {
    const auto e = run_ptqbench({"eval", "--model", dir.file("q_on"), "--task", "wikitext2", "--data", data, "--seqlen",
                                 "256", "--limit", "4", "--json", "--no-cache", "--stream", stream});
    INFO(e.err);
    REQUIRE(e.exit_code == 0);
    ppl.push_back(nlohmann::json::parse(e.out)["results"]["wikitext2"]["ppl"].get<double>());
  }
  CHECK(ppl[0] == ppl[1]);
  const auto bad = run_ptqbench({"eval", "--model", dir.file("q_on"), "--task", "wikitext2", "--data", data, "--stream", "yes"});
  CHECK(bad.exit_code != 0);
  CHECK_THAT(bad.err, Contains("--stream"));
}

namespace {

// Quantizes the embedded default with `method` at `setting` (calibrated on the embedded WikiText-2), checks
// that quant_params.safetensors holds `tensor` with `shape`, and that eval then accepts the checkpoint.
// Returns the checkpoint directory's path inside `dir`.
std::string quantize_then_eval(const TempDir& dir, const std::string& method, const std::string& setting,
                               const std::string& nsamples, const std::string& config, const std::string& tensor,
                               const std::vector<int64_t>& shape) {
  const std::string model = ptq::test::tiny_model(), data = ptq::test::tiny_data() + "/wikitext2";
  const auto q = run_ptqbench({"quantize", "--model", model, "--method", method, "--setting", setting, "--calib-data",
                               data, "--nsamples", nsamples, "--seqlen", "64", "--config", config, "--out",
                               dir.file("q"), "--no-cache"});
  INFO(q.err);
  REQUIRE(q.exit_code == 0);
  const ptq::io::SafetensorsFile qparams(dir.file("q/quant_params.safetensors"));
  const auto* t = qparams.find(tensor);
  REQUIRE(t != nullptr);
  CHECK(t->shape == shape);
  const auto e = run_ptqbench({"eval", "--model", dir.file("q"), "--task", "wikitext2", "--data", data, "--seqlen", "64",
                               "--limit", "2", "--json", "--no-cache"});
  INFO(e.err);
  CHECK(e.exit_code == 0);
  return dir.file("q");
}

}  // namespace

TEST_CASE("quantize gptq with act_order and groups, then eval: its weight_g_idx qparams are accepted",
          "[integration][quantize]") {
  // Regression: validate_quant_params refused "<linear>.weight_g_idx", which GPTQ writes with act_order and
  // dynamic groups, so that the checkpoint `quantize` had just written could not be evaluated.
  TempDir dir;
  const std::string q = quantize_then_eval(dir, "gptq", "W4A16g32", "4", "{\"act_order\": true}",
                                           "model.layers.0.self_attn.q_proj.weight_g_idx", {256});
  const auto info = run_ptqbench({"info", q});
  INFO(info.err);
  CHECK(info.exit_code == 0);
}

TEST_CASE("quantize cbq W4A4 then eval: the learned activation clipping in its qparams is accepted",
          "[integration][quantize]") {
  // Regression: validate_quant_params refused the "model.layers.<i>.ptqbench_act_clip" tensors CBQ keeps
  // beside its scales when it learns activation steps.
  TempDir dir;
  quantize_then_eval(dir, "cbq", "W4A4", "2", "{\"epochs\": 1}", "model.layers.3.ptqbench_act_clip", {4});
}
