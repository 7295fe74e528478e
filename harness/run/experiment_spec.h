// The experiment file: one declarative JSON document for a whole matrix (models x settings x methods x
// calibration seeds, all evaluated the same way). Parsing is strict: an unknown key, method, setting,
// evaluator or a missing data path is an InputError naming the file and the key path
// ("experiments/x.json: methods[1].config: unknown key ..."), raised before any cell runs. A model that is
// not on this machine is not an error here (ModelSpec::deferred): `run` checks it before its cells start.
// The schema is documented in docs/experiments.md; experiments/examples/reference.json uses every key.
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace ptq::run {

// What one cell of a model asks a Slurm cluster for (`ptqbench slurm`), when it differs from the
// command line's defaults: a 70B model needs more GPUs, memory and time than a 7B one. Not part of
// run ids (the result does not depend on it).
struct SlurmResources {
  int gpus = -1;     // GPUs per cell (-1: the command's --gpus-per-task)
  int cpus = 0;      // CPUs per cell (0: the command's --cpus-per-task)
  std::string mem;   // e.g. "200G" ("": the command's --mem)
  std::string time;  // e.g. "12:00:00" ("": the command's --time)
  bool empty() const { return gpus < 0 && cpus == 0 && mem.empty() && time.empty(); }
  nlohmann::json to_json() const;
};

struct ModelSpec {
  std::string id;           // the name in tables and run records
  std::string path;         // resolved (relative paths are relative to the spec file); see `deferred`
  std::string paper_model;  // the model's name in paper tables ("LLaMA-2-7B"); "" = no comparison
  SlurmResources slurm;     // "slurm": {"gpus": 4, "cpus": 16, "mem": "320G", "time": "24:00:00"}
  // Why the model was not checked and fingerprinted ("" = it was), as the error it would have been:
  // its path names an unset environment variable (kept literal in `path`) or its directory is absent.
  // A plan made on a machine without the checkpoints (a login node) marks its cells' fingerprint
  // "deferred"; `run --plan` checks the model then (plan.h resolve_deferred_models).
  std::string deferred;
};

struct MethodSpec {
  std::string name;          // registry name, or "fp" for the unquantized baseline
  std::string label;         // row label (default: name); lets one file hold ablations of one method
  std::string paper_method;  // the method's name in paper tables (default: Method::paper_name())
  // Whether reports compare this row with paper numbers under paper_method: when its label is the
  // method's own, or the entry gives "paper_method" (a paper reports that configuration under that name).
  // An ablation (its own label, no "paper_method") is not the full method: it gets no paper number.
  bool paper_row = true;
  nlohmann::json config;     // the resolved config (defaults + overrides), canonical
  std::vector<std::string> settings;  // the settings this method runs at (default: the spec's settings)
  // The model ids this method runs on (default, empty: every model), e.g. a row a paper reports for some
  // models only (AWQ has no LLaMA-2-70B numbers in OmniQuant's Table 1).
  std::vector<std::string> models;
  bool needs_calibration = false;
  // "config_overrides": [{"models": [ids], "settings": [...], "config": {...}}, ...]: overrides applied,
  // in order, on top of "config" for the cells whose model and setting match (a missing list matches
  // all); e.g. the released scripts' Llama-2 W4A4 learning rate in a table that also holds LLaMA-1.
  // Resolved per (model id, setting) where one applies:
  std::map<std::pair<std::string, std::string>, nlohmann::json> cell_config;
  std::map<std::pair<std::string, std::string>, bool> cell_needs_calibration;

  const nlohmann::json& config_for(const std::string& model_id, const std::string& setting) const;
  bool needs_calibration_for(const std::string& model_id, const std::string& setting) const;
  bool any_needs_calibration() const;
};

struct CalibrationSpec {
  std::string dataset = "wikitext2";  // evaluators/calibration: wikitext2 | c4
  std::string data;                   // file or directory with the dataset's train split
  int64_t n = 128;                    // windows (OmniQuant/LRQuant: 128)
  int64_t seqlen = 2048;
  std::vector<int64_t> seeds = {2};   // OmniQuant's seed; several seeds give mean +- std in reports
};

struct EvaluatorSpec {
  std::string task;
  std::string data;              // resolved file or directory the task reads
  int64_t seqlen = 2048;         // perplexity segment length (lowered to max_position_embeddings)
  int64_t limit = 0;             // 0 = all
  int64_t batch_size = 8;
  std::string lm_eval_mode = "v0.3";  // a spec that names none: eval::default_lm_eval_mode(task)
  std::string metric;            // zero-shot: acc | acc_norm ("" = the papers' choice for the task)
  bool is_zeroshot = false;
};

struct RuntimeSpec {
  std::string device = "cpu";
  std::string dtype = "auto";  // auto = fp32 on CPU, fp16 on CUDA (the reference codes)
  int threads = 0;             // 0 = all cores; not part of run ids
  // Streaming (model/block_storage.h) and where calibration activations live (model/activation_home.h):
  // how a cell runs, not what it computes - not part of run ids.
  std::string stream = "auto";       // auto | on | off
  std::string activations = "auto";  // auto | device | host
  // util/numerics.h: native | reproducible. Part of run ids: the two modes compute different digits.
  std::string numerics = "native";
};

struct ExperimentSpec {
  std::string file;  // where it was read from
  std::string name;
  std::string description;
  std::vector<ModelSpec> models;
  std::vector<std::string> settings;  // canonical QuantSetting strings
  bool fp_baseline = true;            // one unquantized cell per model
  std::vector<MethodSpec> methods;
  CalibrationSpec calibration;
  std::vector<EvaluatorSpec> evaluators;
  std::vector<std::string> zeroshot_average;  // tasks averaged into zeroshot_avg
  RuntimeSpec runtime;
  std::vector<std::string> papers;            // resolved paths of reported-number files
  std::vector<std::string> plugins;           // resolved paths of runtime plugins, loaded by the parse
};

// Reads and validates `path`. Throws InputError naming the file and key path.
ExperimentSpec load_experiment_spec(const std::string& path);
// For commands that run cells straight from the spec (`run SPEC`): InputError "<file>: models[i].path:
// <why>" for the first model that is not here.
void require_models_present(const ExperimentSpec& spec);
// Same as load_experiment_spec, from an already parsed document (`file` names it in messages, `base_dir` resolves relative paths).
ExperimentSpec parse_experiment_spec(const nlohmann::json& doc, const std::string& file, const std::string& base_dir);

// Expands the ${NAME} references in `path` with the environment. An unset NAME is an InputError
// "<where>: \"<path>\": environment variable NAME is not set", unless `unset` is given: the reference
// then stays literal and *unset names the first such variable ("" when none).
std::string expand_env_vars(const std::string& path, const std::string& where, std::string* unset = nullptr);

// The name a method has in paper tables: fp (the full-precision row) -> FP16, a method -> its
// Method::paper_name() (InputError for an unknown name).
std::string default_paper_method(const std::string& method);

}  // namespace ptq::run
