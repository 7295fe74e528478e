#include "harness/run/cell.h"

#include <fmt/format.h>

namespace ptq::run {

namespace {

nlohmann::json evaluator_json(const CellEvaluator& e) {
  nlohmann::json j = {{"task", e.task}, {"data", e.data}, {"limit", e.limit}, {"batch_size", e.batch_size}, {"files", e.files}};
  if (e.zeroshot) {
    j["lm_eval_mode"] = e.lm_eval_mode;
    j["metric"] = e.metric;
  } else {
    j["seqlen"] = e.seqlen;
  }
  return j;
}

CellEvaluator evaluator_of(const nlohmann::json& j) {
  CellEvaluator e;
  e.task = j.at("task").get<std::string>();
  e.data = j.at("data").get<std::string>();
  e.limit = j.at("limit").get<int64_t>();
  e.batch_size = j.at("batch_size").get<int64_t>();
  e.files = j.at("files");
  e.zeroshot = j.contains("lm_eval_mode");
  if (e.zeroshot) {
    e.lm_eval_mode = j.at("lm_eval_mode").get<std::string>();
    e.metric = j.at("metric").get<std::string>();
  } else {
    e.seqlen = j.at("seqlen").get<int64_t>();
  }
  return e;
}

CellCalibration calibration_of(const nlohmann::json& j) {
  return {j.at("dataset").get<std::string>(), j.at("data").get<std::string>(), j.at("data_sha256").get<std::string>(),
          j.at("n").get<int64_t>(),           j.at("seqlen").get<int64_t>(),   j.at("seed").get<int64_t>()};
}

CellRuntime runtime_of(const nlohmann::json& j) {
  CellRuntime r;
  r.device = j.at("device").get<std::string>();
  r.dtype = j.at("dtype").get<std::string>();
  r.threads = j.at("threads").get<int>();
  r.stream = j.value("stream", r.stream);  // plans made before streaming, activation placement, numerics
  r.activations = j.value("activations", r.activations);
  r.numerics = j.value("numerics", r.numerics);
  return r;
}

}  // namespace

nlohmann::json Cell::to_json() const {
  nlohmann::json m = {{"id", model.id}, {"path", model.path}, {"paper_model", model.paper_model}, {"fingerprint", model.fingerprint}};
  if (!model.slurm.is_null()) m["slurm"] = model.slurm;
  nlohmann::json cal = nullptr;
  if (calibration)
    cal = {{"dataset", calibration->dataset}, {"data", calibration->data}, {"n", calibration->n},
           {"seqlen", calibration->seqlen},   {"data_sha256", calibration->data_sha256}, {"seed", calibration->seed}};
  nlohmann::json evs = nlohmann::json::array();
  for (const auto& e : evaluators) evs.push_back(evaluator_json(e));
  nlohmann::json j = {{"index", index},
                      {"experiment", experiment},
                      {"spec_file", spec_file},
                      {"model", m},
                      {"setting", setting},
                      {"method", method},
                      {"label", label},
                      {"paper_method", paper_method},
                      {"paper_row", paper_row},
                      {"config", config},
                      {"calibration", cal},
                      {"evaluators", evs},
                      {"zeroshot_average", zeroshot_average},
                      {"runtime", {{"device", runtime.device}, {"dtype", runtime.dtype}, {"threads", runtime.threads},
                                   {"stream", runtime.stream}, {"activations", runtime.activations}, {"numerics", runtime.numerics}}},
                      {"papers", papers},
                      {"harness_version", harness_version},
                      {"run_id", run_id}};
  if (run_id_provisional()) j["run_id_provisional"] = true;  // for readers of plans; from_json derives it
  if (!plugins.empty()) {
    j["plugins"] = nlohmann::json::array();
    for (const auto& p : plugins) j["plugins"].push_back(p.to_json());
  }
  return j;
}

nlohmann::json CellPlugin::to_json() const {
  return {{"name", name}, {"version", version}, {"path", path}, {"sha256", sha256}};
}

CellPlugin CellPlugin::from_json(const nlohmann::json& j) {
  return {j.at("name").get<std::string>(), j.at("version").get<std::string>(), j.at("path").get<std::string>(),
          j.at("sha256").get<std::string>()};
}

Cell Cell::from_json(const nlohmann::json& j) {
  Cell c;
  c.index = j.at("index").get<int64_t>();
  c.experiment = j.at("experiment").get<std::string>();
  c.spec_file = j.value("spec_file", "");
  const auto& m = j.at("model");
  c.model = {m.at("id").get<std::string>(), m.at("path").get<std::string>(), m.value("paper_model", ""),
             m.at("fingerprint"), m.value("slurm", nlohmann::json())};
  c.setting = j.at("setting").get<std::string>();
  c.method = j.at("method").get<std::string>();
  c.label = j.at("label").get<std::string>();
  c.paper_method = j.value("paper_method", "");
  c.paper_row = j.value("paper_row", c.label == c.method);  // plan lines from before: only the method's own row
  c.config = j.at("config");
  if (j.at("calibration").is_object()) c.calibration = calibration_of(j.at("calibration"));
  for (const auto& e : j.at("evaluators")) c.evaluators.push_back(evaluator_of(e));
  c.zeroshot_average = j.at("zeroshot_average").get<std::vector<std::string>>();
  c.runtime = runtime_of(j.at("runtime"));
  c.papers = j.value("papers", std::vector<std::string>{});
  c.harness_version = j.at("harness_version").get<std::string>();
  c.run_id = j.value("run_id", "");
  if (j.contains("plugins"))
    for (const auto& p : j.at("plugins")) c.plugins.push_back(CellPlugin::from_json(p));
  return c;
}

std::string Cell::describe() const {
  std::string s = fmt::format("{} {} {}", label, setting, model.id);
  if (calibration) s += fmt::format(" seed {}", calibration->seed);
  return s;
}

}  // namespace ptq::run
