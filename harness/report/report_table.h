// The data of a paper-style report, read from the results database: rows = (setting, method label),
// columns = (model, metric); each cell holds our mean +- std over calibration seeds and, where a paper
// reports the same (model, setting, method, metric), the paper's number. Rendering is in render.h.
#pragma once

#include "harness/report/best_significance.h"

#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace ptq::store {
class ResultsDb;
}

namespace ptq::report {

struct Stat {
  double mean = NAN, std = NAN;  // std: sample standard deviation over seeds (NaN for one seed)
  int n = 0;                     // runs (calibration seeds) averaged
  // The evaluation's own size and uncertainty (over seeds: the mean stderr, the fewest documents): what
  // --limit shortened shows as docs < docs_total. Segments for perplexity, documents for zero-shot tasks.
  double stderr_value = NAN;
  int64_t docs = 0, docs_total = 0;  // 0: not recorded
  bool segments = false;
  bool has() const { return n > 0 && std::isfinite(mean); }
  bool partial() const { return docs_total > 0 && docs < docs_total; }
};

struct PaperValue {
  double value = NAN;
  bool verified = true;
  bool reimplementation = false;  // the paper's own re-implementation of the method, not the method's paper
  std::string paper, table, file;
  bool has() const { return std::isfinite(value); }
};

using Column = std::pair<std::string, std::string>;  // (model id, metric)

struct Row {
  std::string setting, label, method, paper_method;
  // Whether papers report this row under paper_method: its label is the method's own, or the experiment
  // names its paper_method explicitly. An ablation (cbq-no-cfp) is not the full method: no paper number.
  bool paper_row = true;
  std::map<Column, Stat> ours;
  std::map<Column, PaperValue> paper;
  bool is_fp() const { return method == "fp"; }
  // "FP", the paper's name when the label is the method's own (rtn -> RTN), else the label (ablations).
  std::string title() const { return is_fp() ? "FP" : label == method ? paper_method : label; }
};

// What a setting's weights take on disk for one model, as its runs recorded it (result "size",
// harness/ptq/packed_size.h): bits per linear weight in the GPTQ-packed export, scales, zero points and
// g_idx included (the linears a width kept in float16 count 16 bits).
struct StoredSize {
  double bits_per_weight = NAN;
  bool theoretical = false;  // no packed layout at these bits (5, 6, 7): the theoretical size
  bool has() const { return std::isfinite(bits_per_weight); }
};

struct CostRow {
  std::string setting, label, title, model;
  Stat quantize_s, total_s, peak_rss_gb, peak_gpu_gb;
};

struct ReportTable {
  std::string experiment;
  std::vector<std::string> models;      // in plan order
  std::map<std::string, std::string> paper_model;
  // The experiment's declared paper-number files (file names, as the database keys them), in the order of
  // priority of its "papers": a (model, setting, method, metric) takes its number from the first that has one.
  std::vector<std::string> paper_files;
  // The papers (their "paper" names) the paper values come from, by file priority then name.
  std::vector<std::string> paper_sources;
  std::vector<std::string> metrics;     // canonical order
  std::vector<Row> rows;                // grouped by setting (FP first), methods in plan order
  std::vector<CostRow> costs;
  // (setting, model) -> its size on disk, from the first ok run that recorded one (runs before issue #30
  // have none: then the tables have no bits/w column).
  std::map<std::pair<std::string, std::string>, StoredSize> sizes;
  std::vector<std::string> failures;    // "label setting model: error" of failed runs
  std::vector<std::string> numerics;    // what decided the digits of the ok runs (util/numerics.h summaries)
  std::vector<std::string> provenance;  // distinct machines/builds of the ok runs (report/provenance_summary.h)
  // What "Avg." covers when it is not the papers' six tasks (then no paper number is set beside it).
  std::string average_note;
  // Per setting and column, whether the best quantized value is significantly better than the runner-up
  // (best_significance.h): renderers mark a bold best that is not.
  BestTests best_tests;
  bool column_has_paper(const Column& c) const;
};

std::vector<std::string> experiments(store::ResultsDb& db);
// `metrics` empty: every reported metric present (details such as piqa_acc are left out).
ReportTable build_report(store::ResultsDb& db, const std::string& experiment, const std::vector<std::string>& metrics = {});

// Per-metric details (piqa_acc, piqa_acc_norm) beside the reported metric: not table columns, not baseline metrics.
bool is_detail_metric(const std::string& metric);
// Display names used by papers: "WikiText2", "C4", "PIQA", "ARC-e", ... (the metric itself otherwise).
std::string metric_title(const std::string& metric);
// The order of settings in tables: FP first, weight-only before weight-activation settings, then fewer
// weight bits later, per-channel before groups.
bool setting_before(const std::string& a, const std::string& b);

}  // namespace ptq::report
