// One cell of a plan, typed: what `ptqbench plan` writes as one JSON line and a worker reads back. The
// JSON keys are the ones plans always had ("method", "config", "setting", "model", "run_id", ...), so
// scripts that read plans keep working; plans written before a key existed read with its default.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ptq::run {

// The fingerprint of a model that was not there when the plan was made (ModelSpec::deferred): the cell's
// run id is provisional until `run` fingerprints the model (plan.h resolve_deferred_models).
inline constexpr const char* kDeferredFingerprint = "deferred";

struct CellModel {
  std::string id, path, paper_model;
  nlohmann::json fingerprint;  // {"sha256", ...} (run/fingerprint.h), or kDeferredFingerprint
  nlohmann::json slurm;        // the spec's per-model Slurm request; null when none (not in the identity)
};

struct CellCalibration {
  std::string dataset, data, data_sha256;
  int64_t n = 0, seqlen = 0, seed = 0;
};

struct CellEvaluator {
  std::string task, data;
  int64_t limit = 0, batch_size = 1;
  nlohmann::json files = nlohmann::json::array();  // [{"path", "sha256"}]
  bool zeroshot = false;
  std::string lm_eval_mode, metric;  // zero-shot tasks
  int64_t seqlen = 0;                // perplexity tasks
};

struct CellRuntime {
  std::string device = "cpu", dtype = "auto";
  int threads = 0;
  std::string stream = "auto", activations = "auto", numerics = "native";
};

// A runtime plugin a cell needs (pipeline/plugins.h): the one that registered its method or one of its
// tasks. Name and version are in the run id; path and hash tell a worker what to load and provenance
// what ran.
struct CellPlugin {
  std::string name, version, path, sha256;
  nlohmann::json to_json() const;
  static CellPlugin from_json(const nlohmann::json& j);
};

struct Cell {
  int64_t index = 0;
  std::string experiment, spec_file;
  CellModel model;
  std::string setting, method, label, paper_method;
  bool paper_row = true;  // reports compare it with paper numbers (MethodSpec::paper_row); not in the identity
  nlohmann::json config = nlohmann::json::object();  // the method's resolved config
  std::optional<CellCalibration> calibration;        // methods that need none: null in JSON
  std::vector<CellEvaluator> evaluators;
  std::vector<std::string> zeroshot_average;
  CellRuntime runtime;
  std::vector<std::string> papers;
  std::vector<CellPlugin> plugins;  // none for ptqbench's own methods and tasks (then not in the JSON)
  std::string harness_version, run_id;

  // The model's fingerprint is deferred, so is the run id: the JSON line says "run_id_provisional": true.
  bool run_id_provisional() const { return model.fingerprint == kDeferredFingerprint; }

  nlohmann::json to_json() const;
  // nlohmann::json::exception for a missing or mistyped key (read_plan names the file and line).
  static Cell from_json(const nlohmann::json& j);
  // "<label> <setting> <model id>[ seed <s>]", for progress lines.
  std::string describe() const;
};

}  // namespace ptq::run
