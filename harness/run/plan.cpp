#include "harness/run/plan.h"

#include "evaluators/zeroshot/tasks.h"
#include "harness/data/calibration.h"
#include "harness/data/ppl_tasks.h"
#include "harness/io/files.h"
#include "harness/io/jsonl.h"
#include "harness/io/sha256.h"
#include "harness/run/fingerprint.h"
#include "harness/util/build_info.h"
#include "harness/util/errors.h"

#include <fmt/format.h>

#include <map>

namespace ptq::run {

namespace {

nlohmann::json hashed_files(const std::vector<std::string>& paths) {
  nlohmann::json files = nlohmann::json::array();
  for (const auto& p : paths) files.push_back({{"path", p}, {"sha256", io::sha256_file(p)}});
  return files;
}

nlohmann::json evaluator_json(const EvaluatorSpec& e) {
  const std::vector<std::string> files =
      e.is_zeroshot ? eval::resolve_zeroshot_files(e.task, e.data) : std::vector<std::string>{eval::resolve_ppl_data_file(e.task, e.data)};
  nlohmann::json j = {{"task", e.task}, {"data", e.data}, {"limit", e.limit}, {"batch_size", e.batch_size},
                      {"files", hashed_files(files)}};
  if (e.is_zeroshot) {
    j["lm_eval_mode"] = e.lm_eval_mode;
    j["metric"] = e.metric;
  } else {
    j["seqlen"] = e.seqlen;
  }
  return j;
}

}  // namespace

nlohmann::json cell_identity(const nlohmann::json& cell) {
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
  return {{"experiment", cell.at("experiment")},
          {"model", {{"id", cell.at("model").at("id")}, {"fingerprint", cell.at("model").at("fingerprint").at("sha256")}}},
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
}

std::string run_id_of(const nlohmann::json& cell) { return io::sha256_hex(cell_identity(cell).dump()).substr(0, 16); }

std::vector<nlohmann::json> plan_cells(const ExperimentSpec& spec) {
  nlohmann::json evaluators = nlohmann::json::array();
  for (const auto& e : spec.evaluators) evaluators.push_back(evaluator_json(e));
  nlohmann::json calibration_base = nullptr;
  if (!spec.calibration.data.empty() || std::any_of(spec.methods.begin(), spec.methods.end(),
                                                    [](const MethodSpec& m) { return m.any_needs_calibration(); })) {
    const std::string file = eval::resolve_calibration_file(spec.calibration.dataset, spec.calibration.data);
    calibration_base = {{"dataset", spec.calibration.dataset}, {"data", spec.calibration.data},
                        {"n", spec.calibration.n}, {"seqlen", spec.calibration.seqlen},
                        {"data_sha256", io::sha256_file(file)}};
  }
  const nlohmann::json runtime = {{"device", spec.runtime.device}, {"dtype", spec.runtime.dtype},
                                  {"threads", spec.runtime.threads}, {"stream", spec.runtime.stream},
                                  {"activations", spec.runtime.activations}, {"numerics", spec.runtime.numerics}};

  std::vector<nlohmann::json> cells;
  const auto add = [&](const ModelSpec& model, const nlohmann::json& fingerprint, const std::string& setting,
                       const std::string& method, const std::string& label, const std::string& paper_method,
                       const nlohmann::json& config, const nlohmann::json& calibration) {
    nlohmann::json cell = {{"index", cells.size()},
                           {"experiment", spec.name},
                           {"spec_file", spec.file},
                           {"model", {{"id", model.id}, {"path", model.path}, {"paper_model", model.paper_model},
                                      {"fingerprint", fingerprint}}},
                           {"setting", setting},
                           {"method", method},
                           {"label", label},
                           {"paper_method", paper_method},
                           {"config", config},
                           {"calibration", calibration},
                           {"evaluators", evaluators},
                           {"zeroshot_average", spec.zeroshot_average},
                           {"runtime", runtime},
                           {"papers", spec.papers},
                           {"harness_version", build_info::kVersion}};
    if (!model.slurm.empty()) cell["model"]["slurm"] = model.slurm.to_json();  // not in the identity
    cell["run_id"] = run_id_of(cell);
    cells.push_back(std::move(cell));
  };
  for (const auto& model : spec.models) {
    const nlohmann::json fingerprint = model_fingerprint(model.path);
    if (spec.fp_baseline)
      add(model, fingerprint, "W16A16", "fp", "fp", default_paper_method("fp"), nlohmann::json::object(), nullptr);
    for (const auto& m : spec.methods)
      for (const auto& setting : m.settings) {
        const nlohmann::json& config = m.config_for(model.id, setting);
        if (!m.needs_calibration_for(model.id, setting)) {
          add(model, fingerprint, setting, m.name, m.label, m.paper_method, config, nullptr);
          continue;
        }
        for (int64_t seed : spec.calibration.seeds) {
          nlohmann::json calibration = calibration_base;
          calibration["seed"] = seed;
          add(model, fingerprint, setting, m.name, m.label, m.paper_method, config, calibration);
        }
      }
  }
  std::map<std::string, size_t> ids;
  for (const auto& c : cells) {
    const auto [it, inserted] = ids.emplace(c["run_id"].get<std::string>(), c["index"].get<size_t>());
    if (!inserted)
      throw InputError(fmt::format("{}: cells {} and {} are the same experiment (same run id {}); remove the duplicate",
                                   spec.file, it->second, c["index"].get<size_t>(), it->first));
  }
  return cells;
}

void write_plan(const std::string& path, const std::vector<nlohmann::json>& cells) {
  std::string text;
  for (const auto& c : cells) text += c.dump() + "\n";
  io::write_file_atomic(path, text);
}

std::vector<nlohmann::json> read_plan(const std::string& path) {
  std::vector<nlohmann::json> cells;
  io::for_each_json_line(path, [&](size_t line, const nlohmann::json& cell) {
    try {
      if (run_id_of(cell) != cell.at("run_id").get<std::string>())
        throw InputError(fmt::format("{}:{}: run_id {} does not match the cell's contents (edited by hand?)", path, line,
                                     cell.at("run_id").get<std::string>()));
    } catch (const nlohmann::json::exception& e) {
      throw InputError(fmt::format("{}:{}: not a plan cell ({})", path, line, e.what()));
    }
    cells.push_back(cell);
    return true;
  });
  if (cells.empty()) throw InputError(fmt::format("{}: the plan has no cells", path));
  return cells;
}

}  // namespace ptq::run
