#include "tests/support/result_fixtures.h"

#include "evaluators/sample_log.h"
#include "harness/io/sha256.h"
#include "harness/store/sample_log.h"
#include "tests/support/test_env.h"

#include <fmt/format.h>

#include <cmath>
#include <filesystem>

namespace fs = std::filesystem;

namespace ptq::test {

std::string write_fake_run(const std::string& results_dir, const FakeRun& r) {
  const std::string label = r.label.empty() ? r.method : r.label;
  const std::string run_id =
      io::sha256_hex(fmt::format("{}|{}|{}|{}|{}", r.experiment, r.model, r.setting, label, r.seed.value_or(-1))).substr(0, 16);
  nlohmann::json cell = {{"index", r.index},
                         {"run_id", run_id},
                         {"experiment", r.experiment},
                         {"model", {{"id", r.model}, {"path", "/models/" + r.model}, {"paper_model", r.paper_model}}},
                         {"setting", r.setting},
                         {"method", r.method},
                         {"label", label},
                         {"paper_method", r.paper_method.empty() ? r.method : r.paper_method},
                         {"config", nlohmann::json::object()},
                         {"calibration", r.seed ? nlohmann::json{{"seed", *r.seed}} : nlohmann::json(nullptr)},
                         {"runtime", {{"device", "cpu"}, {"dtype", "auto"}, {"threads", 0}}}};
  nlohmann::json metrics = nlohmann::json::array();
  const nlohmann::json se = std::isfinite(r.stderr_value) ? nlohmann::json(r.stderr_value) : nlohmann::json(nullptr);
  for (const auto& [name, value] : r.metrics) metrics.push_back({{"name", name}, {"value", value}, {"stderr", se}, {"n", r.n}});
  cell["zeroshot_average"] = r.zeroshot_average;
  if (!r.papers.empty()) cell["papers"] = r.papers;
  if (r.paper_row) cell["paper_row"] = *r.paper_row;
  nlohmann::json result = {{"format", 1},
                           {"run_id", run_id},
                           {"experiment", r.experiment},
                           {"status", r.status},
                           {"error", r.error.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.error)},
                           {"cell", cell},
                           {"provenance", {{"started", "2026-01-01T00:00:00Z"}, {"host", "test"}, {"dtype", "fp32"}}}};
  if (r.status == "ok") {
    result["metrics"] = metrics;
    result["timing"] = {{"data_s", 0.5}, {"load_s", 0.5}, {"quantize_s", r.quantize_s}, {"eval_s", {{"wikitext2", 3.0}}},
                        {"total_s", r.total_s}};
    result["memory"] = {{"peak_rss_gb", r.peak_rss_gb}, {"peak_gpu_gb", nullptr}};
    if (!r.size.is_null()) result["size"] = r.size;
  }
  const fs::path dir = fs::path(results_dir) / "runs" / run_id;
  fs::create_directories(dir);
  if (!r.numerics.empty()) result["provenance"]["environment"]["numerics"] = {{"mode", r.numerics}};
  for (const auto& [task, d] : r.details.items()) result["details"][task] = d;
  for (const auto& [task, records] : r.samples) {
    result["details"][task] = {{"reported_metric", "acc"},
                               {"samples", eval::write_sample_log((dir / "samples").string(), task, records)}};
  }
  write_text((dir / "result.json").string(), result.dump(2));
  if (r.status == "ok") write_text((dir / "DONE").string(), run_id + "\n");
  return run_id;
}

std::string write_golden_fixture(const std::string& results_dir) {
  const std::string path = (fs::path(results_dir) / "papers.json").string();
  // LLaMA-2-7B (hidden 4096, intermediate 11008, 32 layers, vocab 32000) on disk. Float16: 6 738 415 616
  // parameters, 13 476 831 232 bytes. 4-bit per channel, per layer: q/k/v/o 4 x (512*4096*4 + 512*4 +
  // 4096*2 + 4096*4) = 4 x 8 415 232, gate/up 2 x (512*11008*4 + 1376*4 + 11008*2 + 4096*4) = 2 x 22 588 288,
  // down 1376*4096*4 + 512*4 + 4096*2 + 11008*4 = 22 598 656: 101 436 160 bytes for 202 375 168 weights,
  // 4.0098 bits each; with the float16 embeddings, head and norms 3 770 777 600 bytes.
  const nlohmann::json fp16_size = {{"bits_per_weight", 16},       {"effective_bits_per_weight", 16},
                                    {"packed_bytes", 13476831232}, {"fp16_bytes", 13476831232},
                                    {"packable", false},           {"size_kind", "float16"}};
  const double w4 = 101436160.0 * 8 / 202375168;
  const nlohmann::json w4_size = {{"bits_per_weight", w4},        {"effective_bits_per_weight", w4},
                                  {"packed_bytes", 3770777600},   {"fp16_bytes", 13476831232},
                                  {"packable", true},             {"size_kind", "gptq_packed"}};
  FakeRun fp;
  fp.papers = {path};  // copied into every run below
  fp.setting = "W16A16", fp.method = "fp", fp.paper_method = "FP16", fp.index = 0, fp.size = fp16_size;
  fp.metrics = {{"wikitext2_ppl", 5.4721}, {"c4_ppl", 6.9734}, {"piqa", 78.07}, {"piqa_acc", 78.07}, {"zeroshot_avg", 64.9}};
  write_fake_run(results_dir, fp);

  FakeRun rtn = fp;
  rtn.setting = "W4A16", rtn.method = "rtn", rtn.paper_method = "RTN", rtn.index = 1;
  rtn.metrics = {{"wikitext2_ppl", 6.1157}, {"c4_ppl", 7.7201}, {"piqa", 76.5}, {"zeroshot_avg", 62.0}};
  rtn.quantize_s = 2.5, rtn.total_s = 30, rtn.size = w4_size;
  write_fake_run(results_dir, rtn);

  for (int64_t seed : {2, 3}) {  // two calibration seeds: mean 5.72, sample std 0.0283
    FakeRun omni = fp;
    omni.setting = "W4A16", omni.method = "omniquant", omni.paper_method = "OmniQuant", omni.seed = seed, omni.size = w4_size;
    omni.index = 2 + (seed - 2);
    omni.metrics = {{"wikitext2_ppl", seed == 2 ? 5.70 : 5.74}, {"c4_ppl", seed == 2 ? 7.20 : 7.30},
                    {"piqa", seed == 2 ? 77.0 : 77.5}, {"zeroshot_avg", seed == 2 ? 63.0 : 63.4}};
    omni.quantize_s = seed == 2 ? 100 : 110, omni.total_s = seed == 2 ? 130 : 140, omni.peak_rss_gb = 3;
    write_fake_run(results_dir, omni);
  }

  FakeRun w4a4 = rtn;
  w4a4.setting = "W4A4", w4a4.index = 4;
  w4a4.metrics = {{"wikitext2_ppl", 1.2345e3}, {"c4_ppl", 1.5e3}, {"piqa", 50.1}, {"zeroshot_avg", 35.5}};
  write_fake_run(results_dir, w4a4);

  FakeRun failed = rtn;
  failed.setting = "W3A16", failed.index = 5, failed.status = "failed", failed.error = "cuda out of memory";
  write_fake_run(results_dir, failed);

  const nlohmann::json papers = nlohmann::json::array({
      {{"paper", "P1"}, {"table", "T1"}, {"model", "LLaMA-2-7B"}, {"setting", "W16A16"}, {"group_size", nullptr},
       {"method", "FP16"}, {"metric", "wikitext2_ppl"}, {"value", 5.47}, {"source", "s"}, {"verified", true}},
      {{"paper", "P1"}, {"table", "T1"}, {"model", "LLaMA-2-7B"}, {"setting", "W4A16"}, {"group_size", nullptr},
       {"method", "RTN"}, {"metric", "wikitext2_ppl"}, {"value", 6.11}, {"source", "s"}, {"verified", true}},
      {{"paper", "P1"}, {"table", "T1"}, {"model", "LLaMA-2-7B"}, {"setting", "W4A16"}, {"group_size", nullptr},
       {"method", "OmniQuant"}, {"metric", "wikitext2_ppl"}, {"value", 5.74}, {"source", "s"}, {"verified", true}},
      {{"paper", "P1"}, {"table", "T1"}, {"model", "LLaMA-2-7B"}, {"setting", "W4A16"}, {"group_size", 128},
       {"method", "OmniQuant"}, {"metric", "wikitext2_ppl"}, {"value", 5.58}, {"source", "s"}, {"verified", true}},
      {{"paper", "P2"}, {"table", "T9"}, {"model", "LLaMA-2-7B"}, {"setting", "W4A4"}, {"group_size", nullptr},
       {"method", "RTN"}, {"metric", "piqa"}, {"value", 49.5}, {"source", "secondary"}, {"verified", false}},
      {{"paper", "P2"}, {"table", "abstract"}, {"model", nullptr}, {"setting", nullptr}, {"group_size", nullptr},
       {"method", "X"}, {"metric", "wikitext2_ppl"}, {"value", 1.0}, {"source", "s"}, {"verified", false}},
  });
  write_text(path, papers.dump(1));
  return path;
}

namespace {

nlohmann::json paper_number(const std::string& setting, std::optional<int64_t> group, const std::string& method,
                            const std::string& metric, double value) {
  return {{"paper", "OmniQuant"}, {"table", metric == "zeroshot_avg" ? "Table 3" : "Table 1"}, {"model", "LLaMA-2-7B"},
          {"setting", setting}, {"group_size", group ? nlohmann::json(*group) : nlohmann::json(nullptr)},
          {"method", method}, {"metric", metric}, {"value", value}, {"source", "s"}, {"verified", true}};
}

// Perplexity of a method at a setting: grows as bits drop, RTN collapses below 4 bits and at A4.
double fixture_ppl(int m, int wbits, int abits, bool group) {
  static const double w16[] = {5.47, 5.47, 5.47, 5.47};
  const double gap[] = {1.0, 0.55, 0.35, 0.4};  // rtn, gptq, omniquant, awq: how much each loses per bit
  double v = w16[m] * (1 + gap[m] * std::pow(2.0, 4 - wbits) * 0.12) * (group ? 0.97 : 1.0);
  if (abits < 16) v *= 1 + gap[m] * std::pow(2.0, 8 - abits) * 0.015;
  if (m == 0 && (wbits <= 2 || abits <= 4)) v = wbits <= 2 ? 4800 : 1230;  // RTN collapses
  if (m == 1 && wbits <= 2 && !group) v = 380;
  return v;
}

}  // namespace

std::string write_chart_fixture(const std::string& results_dir) {
  const std::string path = (fs::path(results_dir) / "chart_papers.json").string();
  FakeRun fp;
  fp.experiment = "charts", fp.papers = {path}, fp.setting = "W16A16", fp.method = "fp", fp.paper_method = "FP16";
  fp.metrics = {{"wikitext2_ppl", 5.47}, {"c4_ppl", 6.97}, {"piqa", 78.1}, {"zeroshot_avg", 64.9}};
  fp.stderr_value = 0.05;
  write_fake_run(results_dir, fp);
  const char* methods[] = {"rtn", "gptq", "omniquant", "awq"};
  const char* paper_methods[] = {"RTN", "GPTQ", "OmniQuant", "AWQ"};
  int64_t index = 1;
  for (const char* setting : {"W4A16", "W3A16", "W2A16", "W4A16g128", "W3A16g128", "W2A16g128", "W8A8", "W6A6", "W4A4"}) {
    const auto q = std::string(setting);
    const int wbits = q[1] - '0', abits = std::stoi(q.substr(3, 2));
    const bool group = q.find('g') != std::string::npos;
    for (int m = 0; m < 4; ++m) {
      if (abits < 16 && m == 3) continue;  // AWQ is weight-only
      for (int64_t seed : m == 2 ? std::vector<int64_t>{2, 3} : std::vector<int64_t>{0}) {
        FakeRun r = fp;
        r.setting = setting, r.method = methods[m], r.paper_method = paper_methods[m], r.index = index++, r.seed = seed;
        const double ppl = fixture_ppl(m, wbits, abits, group) * (seed == 3 ? 1.01 : 1.0);
        const double acc = std::max(36.0, 64.9 - 2.0 * std::log(ppl / 5.47) * 6);
        r.metrics = {{"wikitext2_ppl", ppl}, {"c4_ppl", ppl * 1.27}, {"piqa", acc + 12}, {"zeroshot_avg", acc}};
        r.stderr_value = ppl > 100 ? 40 : 0.04 * ppl / 5;
        if (m == 1 && q == "W4A16") {  // a --limit run: PIQA on 10 of its 1838 documents
          r.details = {{"piqa", {{"n", 10}, {"n_total", 1838}}}, {"wikitext2", {{"nsamples", 166}, {"nsamples_total", 166}}}};
          r.zeroshot_average = {"piqa"};
          r.n = 10;
        }
        write_fake_run(results_dir, r);
      }
    }
  }
  const nlohmann::json papers = nlohmann::json::array({
      paper_number("W16A16", std::nullopt, "FP16", "wikitext2_ppl", 5.47),
      paper_number("W4A16", std::nullopt, "RTN", "wikitext2_ppl", 6.11),
      paper_number("W3A16", std::nullopt, "RTN", "wikitext2_ppl", 539.48),
      paper_number("W3A16", std::nullopt, "GPTQ", "wikitext2_ppl", 8.37),
      paper_number("W3A16", std::nullopt, "OmniQuant", "wikitext2_ppl", 6.58),
      paper_number("W2A16", 128, "OmniQuant", "wikitext2_ppl", 11.06),
      paper_number("W4A4", std::nullopt, "OmniQuant", "wikitext2_ppl", 14.26),
      paper_number("W6A6", std::nullopt, "OmniQuant", "zeroshot_avg", 63.24),
      paper_number("W4A16", std::nullopt, "GPTQ", "c4_ppl", 7.51),
  });
  write_text(path, papers.dump(1));
  return path;
}

std::vector<nlohmann::json> zeroshot_sample_records(const std::vector<int>& correct) {
  std::vector<nlohmann::json> out;
  for (size_t i = 0; i < correct.size(); ++i)
    out.push_back({{"doc", i}, {"gold", 0}, {"ll", {-1.0, -2.0}}, {"greedy", {false, false}}, {"pred", correct[i] ? 0 : 1},
                   {"acc", correct[i]}});
  return out;
}

std::vector<nlohmann::json> ppl_sample_records(const std::vector<double>& nll) {
  std::vector<nlohmann::json> out;
  for (size_t i = 0; i < nll.size(); ++i) out.push_back({{"segment", i}, {"nll", nll[i]}, {"tokens", 511}});
  return out;
}

}  // namespace ptq::test
