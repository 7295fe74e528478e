// Hand-made result files (the shape `ptqbench run` writes) for store, report and regression tests that
// must not depend on running a model.
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace ptq::test {

struct FakeRun {
  std::string experiment = "golden", model = "llama-2-7b", paper_model = "LLaMA-2-7B";
  std::string setting, method, label, paper_method;
  std::optional<int64_t> seed;
  int64_t index = 0;
  std::string status = "ok", error;
  std::map<std::string, double> metrics;  // name -> value (stderr below, n 100)
  double stderr_value = 0.1;               // NaN: written as null
  double quantize_s = 1, total_s = 10, peak_rss_gb = 2;
  // Per-example logs (store/sample_log.h), task -> records, written to <run>/samples/ and hashed into
  // details[task]; zero-shot tasks report `acc`.
  std::map<std::string, std::vector<nlohmann::json>> samples;
  std::vector<std::string> zeroshot_average;  // the cell's zeroshot_average
  std::string numerics;                       // provenance.environment.numerics.mode ("" = none recorded)
  std::vector<std::string> papers;            // the cell's "papers" (the experiment's paper-number files)
  std::optional<bool> paper_row;              // the cell's "paper_row" (unset: absent, as in older cells)
  int64_t n = 100;                            // every metric's n
  nlohmann::json details = nlohmann::json::object();  // merged into result.json "details" (task -> {n, n_total})
  nlohmann::json size;  // result.json "size" (ptq/packed_size.h) of an ok run; null: absent, as before issue #30
};

// Per-example log records (store/sample_log.h) for FakeRun::samples: zero-shot documents, `correct` 1 right
// and 0 wrong each; perplexity segments with their mean NLL (511 tokens each).
std::vector<nlohmann::json> zeroshot_sample_records(const std::vector<int>& correct);
std::vector<nlohmann::json> ppl_sample_records(const std::vector<double>& nll);

// Writes <results>/runs/<run_id>/result.json (+ DONE when ok); returns the run id.
std::string write_fake_run(const std::string& results_dir, const FakeRun& run);

// The fixed small database of the report golden tests: 6 runs (FP, RTN W4A16, OmniQuant W4A16 with two
// seeds, RTN W4A4, one failed cell) and the papers file their cells declare, with numbers of two papers
// (P1, P2) and one unverified number. The ok runs record LLaMA-2-7B's size on disk (float16, and 4-bit
// per-channel GPTQ-packed: 4.0098 bits per weight). Returns the papers path.
std::string write_golden_fixture(const std::string& results_dir);

// The chart fixture of the HTML report tests (experiment "charts", one model): FP and four methods at
// W8A8, W6A6, W4A4 and W4A16, W3A16, W2A16 with and without g128, perplexities from 5.5 to 5000 (collapsed
// settings must become arrows), two seeds for OmniQuant, a --limit run of PIQA (10 of 1838 documents),
// and paper numbers for several cells. Returns the papers path (import it with the runs).
std::string write_chart_fixture(const std::string& results_dir);

}  // namespace ptq::test
