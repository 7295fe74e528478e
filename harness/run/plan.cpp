#include "harness/run/plan.h"

#include "evaluators/evaluator.h"
#include "evaluators/zeroshot/tasks.h"
#include "harness/data/calibration.h"
#include "harness/data/ppl_tasks.h"
#include "harness/io/files.h"
#include "harness/io/jsonl.h"
#include "harness/io/sha256.h"
#include "harness/model/llama_config.h"
#include "harness/model/tokenizer.h"
#include "harness/pipeline/plugins.h"
#include "harness/ptq/quant_setting.h"
#include "harness/run/fingerprint.h"
#include "harness/util/build_info.h"
#include "harness/util/errors.h"
#include "harness/util/input_limits.h"
#include "harness/util/request_limits.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <map>

namespace fs = std::filesystem;

namespace ptq::run {

namespace {

nlohmann::json hashed_files(const std::vector<std::string>& paths) {
  nlohmann::json files = nlohmann::json::array();
  for (const auto& p : paths) files.push_back({{"path", p}, {"sha256", io::sha256_file(p)}});
  return files;
}

CellEvaluator evaluator_of(const EvaluatorSpec& e) {
  const std::vector<std::string> files =
      e.is_zeroshot ? eval::resolve_zeroshot_files(e.task, e.data) : std::vector<std::string>{eval::resolve_ppl_data_file(e.task, e.data)};
  CellEvaluator c;
  c.task = e.task;
  c.data = e.data;
  c.limit = e.limit;
  c.batch_size = e.batch_size;
  c.files = hashed_files(files);
  c.zeroshot = e.is_zeroshot;
  c.lm_eval_mode = e.is_zeroshot ? e.lm_eval_mode : "";
  c.metric = e.is_zeroshot ? e.metric : "";
  c.seqlen = e.is_zeroshot ? 0 : e.seqlen;
  return c;
}

// A deferred fingerprint stands for itself: the provisional id differs from every final one.
nlohmann::json fingerprint_hash(const nlohmann::json& fingerprint) {
  return fingerprint.is_object() ? fingerprint.at("sha256") : fingerprint;
}

}  // namespace

nlohmann::json cell_identity(const Cell& c) {
  const nlohmann::json cell = c.to_json();
  nlohmann::json evaluators = nlohmann::json::array();
  for (const auto& e : cell.at("evaluators")) {
    nlohmann::json id = e;
    id.erase("data");
    id.erase("batch_size");  // batching does not change what is computed
    nlohmann::json hashes = nlohmann::json::array();
    for (const auto& f : e.at("files")) hashes.push_back(f.at("sha256"));
    id["files"] = hashes;
    evaluators.push_back(id);
  }
  nlohmann::json calibration = cell.at("calibration");
  if (calibration.is_object()) calibration.erase("data");
  const std::string device = cell.at("runtime").at("device").get<std::string>();
  nlohmann::json id = {{"experiment", cell.at("experiment")},
          {"model", {{"id", cell.at("model").at("id")}, {"fingerprint", fingerprint_hash(cell.at("model").at("fingerprint"))}}},
          {"setting", cell.at("setting")},
          {"method", cell.at("method")},
          {"label", cell.at("label")},
          {"config", cell.at("config")},
          {"calibration", calibration},
          {"evaluators", evaluators},
          {"zeroshot_average", cell.at("zeroshot_average")},
          {"device", device.substr(0, device.find(':'))},
          {"dtype", cell.at("runtime").at("dtype")},
          {"numerics", cell.at("runtime").value("numerics", "native")},
          {"harness_version", cell.at("harness_version")}};
  // A plugin's method or task: the name and version it declares (not its path or hash, which change with
  // every rebuild and machine). Absent for ptqbench's own, so their run ids are what they always were.
  if (!c.plugins.empty()) {
    id["plugins"] = nlohmann::json::array();
    for (const auto& p : c.plugins) id["plugins"].push_back({{"name", p.name}, {"version", p.version}});
  }
  return id;
}

std::string run_id_of(const Cell& cell) { return io::sha256_hex(cell_identity(cell).dump()).substr(0, 16); }

// The cells' common parts: evaluators (with their files' hashes), calibration (null unless some method
// needs it), runtime.
namespace {

struct Shared {
  std::vector<CellEvaluator> evaluators;
  std::optional<CellCalibration> calibration;
  CellRuntime runtime;
};

Shared shared_parts(const ExperimentSpec& spec) {
  Shared s;
  for (const auto& e : spec.evaluators) s.evaluators.push_back(evaluator_of(e));
  if (!spec.calibration.data.empty() || std::any_of(spec.methods.begin(), spec.methods.end(),
                                                    [](const MethodSpec& m) { return m.any_needs_calibration(); })) {
    const std::string file = eval::resolve_calibration_file(spec.calibration.dataset, spec.calibration.data);
    s.calibration = CellCalibration{spec.calibration.dataset, spec.calibration.data, io::sha256_file(file),
                                    spec.calibration.n, spec.calibration.seqlen, 0};
  }
  s.runtime = {spec.runtime.device, spec.runtime.dtype,       spec.runtime.threads,
               spec.runtime.stream, spec.runtime.activations, spec.runtime.numerics};
  return s;
}

// The plugins behind a cell's method and tasks, each once.
std::vector<CellPlugin> plugins_of(const std::string& method, const std::vector<CellEvaluator>& evaluators) {
  std::vector<const plugin::LoadedPlugin*> found = {plugin::plugin_of_method(method)};
  for (const auto& e : evaluators) found.push_back(plugin::plugin_of_task(e.task));
  std::vector<CellPlugin> out;
  for (const plugin::LoadedPlugin* p : found)
    if (p != nullptr && std::none_of(out.begin(), out.end(), [&](const CellPlugin& c) { return c.name == p->name; }))
      out.push_back({p->name, p->version, p->path, p->sha256});
  return out;
}

void check_unique_run_ids(const ExperimentSpec& spec, const std::vector<Cell>& cells) {
  std::map<std::string, int64_t> ids;
  for (const auto& c : cells) {
    const auto [it, inserted] = ids.emplace(c.run_id, c.index);
    if (!inserted)
      throw InputError(fmt::format("{}: cells {} and {} are the same experiment (same run id {}); remove the duplicate",
                                   spec.file, it->second, c.index, it->first));
  }
}

}  // namespace

std::vector<Cell> plan_cells(const ExperimentSpec& spec) {
  const Shared shared = shared_parts(spec);
  std::vector<Cell> cells;
  const auto add = [&](const ModelSpec& model, const nlohmann::json& fingerprint, const std::string& setting,
                       const MethodSpec& m, const nlohmann::json& config, const std::optional<CellCalibration>& calibration) {
    Cell c;
    c.index = static_cast<int64_t>(cells.size());
    c.experiment = spec.name;
    c.spec_file = spec.file;
    c.model = {model.id, model.path, model.paper_model, fingerprint,
               model.slurm.empty() ? nlohmann::json() : model.slurm.to_json()};  // slurm: not in the identity
    c.setting = setting;
    c.method = m.name;
    c.label = m.label;
    c.paper_method = m.paper_method;
    c.paper_row = m.paper_row;
    c.config = config;
    c.calibration = calibration;
    c.evaluators = shared.evaluators;
    c.zeroshot_average = spec.zeroshot_average;
    c.runtime = shared.runtime;
    c.papers = spec.papers;
    c.plugins = plugins_of(m.name, shared.evaluators);
    c.harness_version = build_info::kVersion;
    c.run_id = run_id_of(c);
    cells.push_back(std::move(c));
  };
  MethodSpec fp_row;  // the unquantized row, "FP16" in paper tables
  fp_row.name = fp_row.label = "fp";
  fp_row.paper_method = default_paper_method("fp");
  for (const auto& model : spec.models) {
    const nlohmann::json fingerprint = model.deferred.empty() ? model_fingerprint(model.path) : nlohmann::json(kDeferredFingerprint);
    if (spec.fp_baseline)
      add(model, fingerprint, "W16A16", fp_row, nlohmann::json::object(), std::nullopt);
    for (const auto& m : spec.methods) {
      if (!m.models.empty() && std::find(m.models.begin(), m.models.end(), model.id) == m.models.end()) continue;
      for (const auto& setting : m.settings) {
        const nlohmann::json& config = m.config_for(model.id, setting);
        if (!m.needs_calibration_for(model.id, setting)) {
          add(model, fingerprint, setting, m, config, std::nullopt);
          continue;
        }
        for (int64_t seed : spec.calibration.seeds) {
          CellCalibration calibration = *shared.calibration;
          calibration.seed = seed;
          add(model, fingerprint, setting, m, config, calibration);
        }
      }
    }
  }
  check_unique_run_ids(spec, cells);
  return cells;
}

namespace {

// What parse_experiment_spec checks of a present model, for one cell of a model that was absent then.
void check_model_for_cell(const Cell& cell, const std::string& where) {
  const fs::path dir = cell.model.path;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw InputError(fmt::format("{}: model directory not found: {}", where, dir.string()));
  if (!fs::is_regular_file(dir / "config.json", ec))
    throw InputError(fmt::format("{}: {} has no config.json", where, dir.string()));
  bool needs_tokenizer = cell.calibration.has_value();
  for (const auto& e : cell.evaluators) needs_tokenizer |= eval::evaluators().get(e.task).needs_tokenizer;
  if (needs_tokenizer && !Tokenizer::find_in(dir.string()))
    throw InputError(fmt::format("{}: {} has no tokenizer (tokenizer.model, tokenizer.json or original/tokenizer.model), "
                                 "which the evaluators and calibration need", where, dir.string()));
  try {
    quant::QuantSetting::parse(cell.setting).validate_for(LlamaConfig::from_file((dir / "config.json").string()));
  } catch (const InputError& e) {
    throw InputError(fmt::format("{}: setting {} does not fit model {}: {}", where, cell.setting, cell.model.id, e.what()));
  }
}

// The model path as this machine sees it: its variables expanded, relative to the spec's directory.
std::string model_path_here(const Cell& cell, const std::string& where) {
  const std::string p = expand_env_vars(cell.model.path, where + ": model path");
  if (fs::path(p).is_absolute()) return p;
  return fs::absolute(fs::path(cell.spec_file).parent_path() / p).lexically_normal().string();
}

}  // namespace

void resolve_deferred_models(std::vector<Cell>& cells, const std::vector<int64_t>& indices, const std::string& where) {
  std::map<std::string, nlohmann::json> fingerprints;  // by path: one hash per model, not per cell
  for (const int64_t i : indices) {
    Cell& cell = cells.at(static_cast<size_t>(i));
    if (!cell.run_id_provisional()) continue;
    const std::string at = fmt::format("{}: cell {} ({})", where, cell.index, cell.describe());
    cell.model.path = model_path_here(cell, at);
    check_model_for_cell(cell, at);
    auto it = fingerprints.find(cell.model.path);
    if (it == fingerprints.end()) it = fingerprints.emplace(cell.model.path, model_fingerprint(cell.model.path)).first;
    cell.model.fingerprint = it->second;
    cell.run_id = run_id_of(cell);
  }
}

namespace {

// A plan is a file too (edited, or written by another version): the numbers that size threads and
// memory get the experiment file's checks. Threads are not in the run id, so an edit would pass it.
void check_cell_sizes(const Cell& cell, const std::string& where) {
  check_threads(cell.runtime.threads, where + ": runtime.threads");
  if (cell.calibration)
    check_calibration_size(cell.calibration->n, cell.calibration->seqlen, where + ": calibration.n",
                           where + ": calibration.seqlen", where + ": calibration: n x seqlen");
  for (const auto& e : cell.evaluators)
    if (!e.zeroshot) check_limit(Limit::kContextLength, e.seqlen, where + ": evaluators." + e.task + ".seqlen");
}

}  // namespace

void write_plan(const std::string& path, const std::vector<Cell>& cells) {
  std::string text;
  for (const auto& c : cells) text += c.to_json().dump() + "\n";
  io::write_file_atomic(path, text);
}

std::vector<Cell> read_plan(const std::string& path) {
  std::vector<Cell> cells;
  io::for_each_json_line(path, [&](size_t line, const nlohmann::json& j) {
    try {
      Cell cell = Cell::from_json(j);
      check_cell_sizes(cell, fmt::format("{}:{}", path, line));
      if (run_id_of(cell) != cell.run_id)
        throw InputError(fmt::format("{}:{}: run_id {} does not match the cell's contents (edited by hand?)", path, line,
                                     bounded_excerpt(cell.run_id)));
      cells.push_back(std::move(cell));
    } catch (const nlohmann::json::exception& e) {
      throw InputError(fmt::format("{}:{}: not a plan cell ({})", path, line, e.what()));
    }
    return true;
  });
  if (cells.empty()) throw InputError(fmt::format("{}: the plan has no cells", path));
  return cells;
}

}  // namespace ptq::run
