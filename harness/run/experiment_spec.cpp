#include "harness/run/experiment_spec.h"

#include "evaluators/evaluator.h"
#include "evaluators/zeroshot_average.h"
#include "evaluators/zeroshot/loglikelihood.h"
#include "evaluators/zeroshot/tasks.h"
#include "harness/data/calibration.h"
#include "harness/data/ppl_tasks.h"
#include "harness/io/json_file.h"
#include "harness/model/llama_config.h"
#include "harness/model/tokenizer.h"
#include "harness/pipeline/plugins.h"
#include "harness/ptq/quant_setting.h"
#include "harness/util/errors.h"
#include "harness/util/input_limits.h"
#include "harness/util/request_limits.h"
#include "harness/util/strict_json.h"
#include "harness/util/text.h"
#include "methods/register_all.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>

namespace fs = std::filesystem;

namespace ptq::run {

namespace {

// Messages read "<file>: <key path>: <problem>".
class Ctx {
 public:
  Ctx(std::string file, std::string path) : file_(std::move(file)), path_(std::move(path)) {}
  Ctx key(const std::string& k) const { return {file_, path_.empty() ? k : path_ + "." + k}; }
  Ctx index(size_t i) const { return {file_, fmt::format("{}[{}]", path_, i)}; }
  std::string where() const { return path_.empty() ? file_ : file_ + ": " + path_; }
  [[noreturn]] void fail(const std::string& what) const { throw InputError(where() + ": " + what); }

 private:
  std::string file_, path_;
};

// Names end up in file names (plans/<name>.jsonl, slurm/<name>/) and table headers: bounded, so that a
// 300-character name is an input error here rather than "file name too long" from the OS later.
void check_name_length(const std::string& name, const Ctx& ctx) {
  const int64_t max = limit_value(Limit::kNameLength);
  if (static_cast<int64_t>(name.size()) > max)
    ctx.fail(fmt::format("\"{}\" is {} characters long, longer than the limit of {} characters in a name",
                         bounded_excerpt(name), name.size(), max));
}

const nlohmann::json& require_key(const nlohmann::json& obj, const char* key, const Ctx& ctx) {
  if (!obj.contains(key)) ctx.fail(fmt::format("missing required key \"{}\"", key));
  return obj.at(key);
}

std::string require_string(const nlohmann::json& v, const Ctx& ctx) {
  if (!v.is_string() || v.get<std::string>().empty()) ctx.fail(fmt::format("is {}, expected a non-empty string", StrictJsonReader::excerpt(v)));
  return v.get<std::string>();
}

const nlohmann::json& require_array(const nlohmann::json& v, const Ctx& ctx, bool non_empty = true) {
  if (!v.is_array()) ctx.fail(fmt::format("is {}, expected a JSON array", StrictJsonReader::excerpt(v)));
  if (non_empty && v.empty()) ctx.fail("is empty, expected at least one entry");
  return v;
}

// Absolute paths in plans: workers (Slurm tasks, `ingest`) may start in another directory. With
// `unset` (model paths), an unset variable is kept literal (*unset names it); a path that starts with
// one stays as written, since the variable's value, not the spec's directory, will say where it is.
std::string resolve_path(const std::string& base_dir, const std::string& raw, const Ctx& ctx, std::string* unset = nullptr) {
  if (raw.empty()) return raw;
  // Longer than any path the OS takes (PATH_MAX): refused here, so no later message echoes all of it.
  if (raw.size() > 4096)
    ctx.fail(fmt::format("\"{}\" is {} characters long, longer than a path can be (4096)", bounded_excerpt(raw), raw.size()));
  const std::string p = expand_env_vars(raw, ctx.where(), unset);
  if (unset != nullptr && !unset->empty() && p.rfind("${", 0) == 0) return p;
  const fs::path joined = fs::path(p).is_absolute() ? fs::path(p) : fs::path(base_dir) / p;
  return fs::absolute(joined).lexically_normal().string();
}

std::vector<std::string> string_list(const nlohmann::json& v, const Ctx& ctx) {
  std::vector<std::string> out;
  require_array(v, ctx);
  for (size_t i = 0; i < v.size(); ++i) out.push_back(require_string(v[i], ctx.index(i)));
  return out;
}

std::string canonical_setting(const std::string& s, const Ctx& ctx) {
  try {
    return quant::QuantSetting::parse(s).str();
  } catch (const InputError& e) {
    ctx.fail(e.what());
  }
}

SlurmResources parse_slurm_resources(const nlohmann::json& v, const Ctx& ctx) {
  if (!v.is_object()) ctx.fail("expected an object such as {\"gpus\": 4, \"time\": \"24:00:00\"}");
  SlurmResources r;
  StrictJsonReader reader(v, ctx.where());
  reader.read("gpus", r.gpus);
  reader.read("cpus", r.cpus);
  reader.read("mem", r.mem);
  reader.read("time", r.time);
  reader.finish();
  if (v.contains("gpus") && r.gpus < 0) ctx.key("gpus").fail(fmt::format("{} must be >= 0", r.gpus));
  if (r.cpus < 0) ctx.key("cpus").fail(fmt::format("{} must be >= 1", r.cpus));
  return r;
}

std::vector<ModelSpec> parse_models(const nlohmann::json& v, const Ctx& ctx, const std::string& base_dir) {
  std::vector<ModelSpec> out;
  std::set<std::string> ids;
  require_array(v, ctx);
  for (size_t i = 0; i < v.size(); ++i) {
    const Ctx c = ctx.index(i);
    ModelSpec m;
    StrictJsonReader r(v[i], c.where());
    r.read("id", m.id);
    r.read("path", m.path);
    r.read("paper_model", m.paper_model);
    r.known("slurm");
    r.finish();
    if (v[i].contains("slurm")) m.slurm = parse_slurm_resources(v[i]["slurm"], c.key("slurm"));
    if (m.path.empty()) c.fail("missing required key \"path\" (a checkpoint directory)");
    if (m.id.empty()) m.id = fs::path(m.path).lexically_normal().filename().string();
    check_name_length(m.id, c.key("id"));
    if (!ids.insert(m.id).second) c.key("id").fail(fmt::format("model id \"{}\" appears twice", m.id));
    // A model that is not here is checked when its cells run: plans are made where the checkpoints may
    // not be (a login node), and run ids do not depend on where the plan was made (plan.h).
    const std::string raw = m.path;
    std::string unset;
    m.path = resolve_path(base_dir, raw, c.key("path"), &unset);
    std::error_code ec;
    if (!unset.empty()) m.deferred = fmt::format("\"{}\": environment variable {} is not set", bounded_excerpt(raw), bounded_excerpt(unset));
    else if (!fs::is_directory(m.path, ec)) m.deferred = fmt::format("model directory not found: {}", bounded_excerpt(m.path));
    const std::string config = (fs::path(m.path) / "config.json").string();
    if (m.deferred.empty() && !fs::is_regular_file(config, ec)) c.key("path").fail(fmt::format("{} has no config.json", m.path));
    out.push_back(m);
  }
  return out;
}

// A list of model ids, each one of the spec's models (a method's or an override's "models").
std::vector<std::string> model_id_list(const nlohmann::json& v, const Ctx& ctx, const std::vector<ModelSpec>& models) {
  const std::vector<std::string> ids = string_list(v, ctx);
  for (size_t k = 0; k < ids.size(); ++k)
    if (std::none_of(models.begin(), models.end(), [&](const ModelSpec& ms) { return ms.id == ids[k]; }))
      ctx.index(k).fail(fmt::format("unknown model id \"{}\" (not in the spec's \"models\")", bounded_excerpt(ids[k])));
  return ids;
}

// Resolves "config_overrides" for every (model, setting) cell of `m` that one of them matches.
void resolve_overrides(const nlohmann::json& v, const Ctx& ctx, const quant::Method& method, const nlohmann::json& base,
                       const std::vector<ModelSpec>& models, MethodSpec& m) {
  require_array(v, ctx, false);
  struct Rule {
    std::vector<std::string> models, settings;
    nlohmann::json config;
  };
  std::vector<Rule> rules;
  for (size_t k = 0; k < v.size(); ++k) {
    const Ctx rc = ctx.index(k);
    if (!v[k].is_object()) rc.fail("expected {\"models\": [...], \"settings\": [...], \"config\": {...}}");
    StrictJsonReader r(v[k], rc.where());
    r.known("models");
    r.known("settings");
    r.known("config");
    r.finish();
    Rule rule;
    if (v[k].contains("models")) rule.models = model_id_list(v[k]["models"], rc.key("models"), models);
    if (v[k].contains("settings")) {
      const auto list = string_list(v[k]["settings"], rc.key("settings"));
      for (size_t j = 0; j < list.size(); ++j) rule.settings.push_back(canonical_setting(list[j], rc.key("settings").index(j)));
    }
    rule.config = v[k].value("config", nlohmann::json::object());
    if (!rule.config.is_object()) rc.key("config").fail("expected an object of config overrides");
    rules.push_back(rule);
  }
  const auto matches = [](const std::vector<std::string>& list, const std::string& x) {
    return list.empty() || std::find(list.begin(), list.end(), x) != list.end();
  };
  for (const auto& model : models)
    for (const auto& setting : m.settings) {
      nlohmann::json merged = base;
      bool any = false;
      for (const auto& rule : rules)
        if (matches(rule.models, model.id) && matches(rule.settings, setting)) {
          for (const auto& [key, val] : rule.config.items()) merged[key] = val;
          any = true;
        }
      if (!any) continue;
      try {
        const auto key = std::make_pair(model.id, setting);
        m.cell_config[key] = method.resolve_config(merged);
        m.cell_needs_calibration[key] = method.needs_calibration(m.cell_config[key]);
      } catch (const InputError& e) {
        ctx.fail(fmt::format("model {} setting {}: {}", model.id, setting, e.what()));
      }
    }
}

std::vector<MethodSpec> parse_methods(const nlohmann::json& v, const Ctx& ctx, const std::vector<std::string>& settings,
                                      const std::vector<ModelSpec>& models) {
  std::vector<MethodSpec> out;
  std::set<std::string> labels;
  require_array(v, ctx, false);
  const auto& registry = methods::registry();
  for (size_t i = 0; i < v.size(); ++i) {
    const Ctx c = ctx.index(i);
    MethodSpec m;
    if (v[i].is_string()) {
      m.name = v[i].get<std::string>();
    } else {
      StrictJsonReader r(v[i], c.where());
      r.read("name", m.name);
      r.read("label", m.label);
      r.read("paper_method", m.paper_method);
      r.known("config");
      r.known("config_overrides");
      r.known("settings");
      r.known("models");
      r.finish();
      if (m.name.empty()) c.fail("missing required key \"name\" (ptqbench ls methods)");
    }
    check_name_length(m.name, v[i].is_string() ? c : c.key("name"));
    const quant::Method* method = nullptr;
    try {
      method = &registry.get(m.name);
    } catch (const InputError& e) {
      c.key("name").fail(e.what());
    }
    const nlohmann::json overrides = v[i].is_object() ? v[i].value("config", nlohmann::json::object()) : nlohmann::json::object();
    try {
      m.config = method->resolve_config(overrides);
    } catch (const InputError& e) {
      c.key("config").fail(e.what());
    }
    m.needs_calibration = method->needs_calibration(m.config);
    if (v[i].is_object() && v[i].contains("settings")) {
      const Ctx sc = c.key("settings");
      const auto list = string_list(v[i]["settings"], sc);
      for (size_t k = 0; k < list.size(); ++k) m.settings.push_back(canonical_setting(list[k], sc.index(k)));
    } else {
      m.settings = settings;
    }
    if (m.settings.empty()) c.fail("no settings: give the spec's \"settings\" or this method's own");
    if (v[i].is_object() && v[i].contains("models")) m.models = model_id_list(v[i]["models"], c.key("models"), models);
    if (v[i].is_object() && v[i].contains("config_overrides"))
      resolve_overrides(v[i]["config_overrides"], c.key("config_overrides"), *method, overrides, models, m);
    m.paper_row = !m.paper_method.empty() || m.label.empty() || m.label == m.name;  // before the defaults below
    if (m.label.empty()) m.label = m.name;
    check_name_length(m.label, c.key("label"));
    if (m.paper_method.empty()) m.paper_method = method->paper_name();
    if (!labels.insert(m.label).second)
      c.fail(fmt::format("label \"{}\" appears twice: give each configuration of a method its own \"label\"", m.label));
    out.push_back(m);
  }
  return out;
}

CalibrationSpec parse_calibration(const nlohmann::json& v, const Ctx& ctx, const std::string& base_dir) {
  CalibrationSpec c;
  StrictJsonReader r(v, ctx.where());
  r.read_choice("dataset", c.dataset, eval::calibration_datasets());
  r.read("data", c.data);
  r.read("n", c.n);
  r.read("seqlen", c.seqlen);
  r.known("seeds");
  r.finish();
  if (v.contains("seeds")) {
    const Ctx sc = ctx.key("seeds");
    require_array(v["seeds"], sc);
    c.seeds.clear();
    for (size_t i = 0; i < v["seeds"].size(); ++i) {
      if (!v["seeds"][i].is_number_integer()) sc.index(i).fail(fmt::format("is {}, expected an integer", StrictJsonReader::excerpt(v["seeds"][i])));
      c.seeds.push_back(v["seeds"][i].get<int64_t>());
    }
    std::set<int64_t> unique(c.seeds.begin(), c.seeds.end());
    if (unique.size() != c.seeds.size()) sc.fail("lists a seed twice");
  }
  if (c.n < 1) ctx.key("n").fail(fmt::format("is {}, expected >= 1", c.n));
  if (c.seqlen < 2) ctx.key("seqlen").fail(fmt::format("is {}, expected >= 2", c.seqlen));
  check_calibration_size(c.n, c.seqlen, ctx.key("n").where(), ctx.key("seqlen").where(), ctx.where() + ": n x seqlen");
  c.data = resolve_path(base_dir, c.data, ctx.key("data"));
  return c;
}

std::vector<EvaluatorSpec> parse_evaluators(const nlohmann::json& v, const Ctx& ctx, const std::string& base_dir,
                                            std::vector<std::string>* average) {
  EvaluatorSpec defaults;
  std::string data_dir;
  StrictJsonReader r(v, ctx.where());
  r.read("data_dir", data_dir);
  r.read("seqlen", defaults.seqlen);
  r.read("limit", defaults.limit);
  r.read("batch_size", defaults.batch_size);
  defaults.lm_eval_mode = "";  // unset: each task's default (evaluators/zeroshot/loglikelihood.h)
  r.read_choice("lm_eval_mode", defaults.lm_eval_mode, {"", "v0.3", "v0.4"});
  r.known("tasks");
  r.known("average");
  r.finish();
  data_dir = resolve_path(base_dir, data_dir, ctx.key("data_dir"));
  const std::vector<std::string> known = eval::evaluators().names();

  const Ctx tc = ctx.key("tasks");
  const nlohmann::json& tasks = require_array(require_key(v, "tasks", ctx), tc);
  std::vector<EvaluatorSpec> out;
  std::set<std::string> seen;
  for (size_t i = 0; i < tasks.size(); ++i) {
    const Ctx c = tc.index(i);
    EvaluatorSpec e = defaults;
    if (tasks[i].is_string()) {
      e.task = tasks[i].get<std::string>();
    } else {
      StrictJsonReader t(tasks[i], c.where());
      t.read("task", e.task);
      t.read("data", e.data);
      t.read("seqlen", e.seqlen);
      t.read("limit", e.limit);
      t.read("batch_size", e.batch_size);
      t.read_choice("lm_eval_mode", e.lm_eval_mode, {"", "v0.3", "v0.4"});
      t.read_choice("metric", e.metric, {"", "acc", "acc_norm"});
      t.finish();
    }
    if (std::find(known.begin(), known.end(), e.task) == known.end()) {
      const std::string hint = closest_match(e.task, known);
      c.fail(fmt::format("unknown evaluator \"{}\"{} (expected one of: {})", bounded_excerpt(e.task),
                         hint.empty() ? "" : fmt::format(", did you mean \"{}\"?", hint), join(known, ", ")));
    }
    // v0.3 for the papers' tasks, v0.4 for LAMBADA (v0.3 scores it 0 % with sentencepiece tokenizers).
    if (e.lm_eval_mode.empty()) e.lm_eval_mode = eval::lm_eval_mode_name(eval::default_lm_eval_mode(e.task));
    if (!seen.insert(e.task).second) c.fail(fmt::format("evaluator \"{}\" appears twice", e.task));
    if (e.seqlen < 2) c.key("seqlen").fail(fmt::format("is {}, expected >= 2", e.seqlen));
    check_limit(Limit::kContextLength, e.seqlen, c.key("seqlen").where());
    if (e.limit < 0) c.key("limit").fail(fmt::format("is {}, expected >= 0 (0 = all)", e.limit));
    if (e.batch_size < 1) c.key("batch_size").fail(fmt::format("is {}, expected >= 1", e.batch_size));
    const eval::EvaluatorInfo& info = eval::evaluators().get(e.task);
    e.is_zeroshot = info.kind == "zero-shot";
    const auto declares = [&](const std::string& metric) {
      return std::any_of(info.metrics.begin(), info.metrics.end(), [&](const eval::MetricInfo& m) { return m.name == metric; });
    };
    if (!e.metric.empty() && (!e.is_zeroshot || !declares(e.task + "_" + e.metric)))
      c.key("metric").fail(fmt::format("task {} has no metric \"{}\"", e.task, bounded_excerpt(e.metric)));
    // Data: the task's own "data", else the shared data_dir (<data_dir>/<task>/ when it exists).
    if (!e.data.empty()) {
      e.data = resolve_path(base_dir, e.data, c.key("data"));
    } else if (!data_dir.empty()) {
      const fs::path nested = fs::path(data_dir) / e.task;
      std::error_code ec;
      e.data = !e.is_zeroshot && fs::is_directory(nested, ec) ? nested.string() : data_dir;
    } else {
      c.fail("no data: give \"data\" here or \"data_dir\" in evaluators");
    }
    try {  // the exact files must exist now, not when the cell runs
      if (e.is_zeroshot) eval::resolve_zeroshot_files(e.task, e.data);
      else eval::resolve_ppl_data_file(e.task, e.data);
    } catch (const InputError& err) {
      c.fail(err.what());
    }
    out.push_back(e);
  }
  // The one definition (evaluators/zeroshot_average.h): "average" as given (each a zero-shot task of this
  // spec), else the papers' six tasks this spec evaluates.
  std::vector<std::string> evaluated;
  for (const auto& e : out) evaluated.push_back(e.task);
  const std::vector<std::string> requested = v.contains("average") ? string_list(v["average"], ctx.key("average")) : std::vector<std::string>{};
  for (size_t i = 0; i < requested.size(); ++i) check_name_length(requested[i], ctx.key("average").index(i));
  const bool none = v.contains("average") && requested.empty();  // "average": [] = no average column
  *average = none ? requested : eval::average_tasks(requested, evaluated, ctx.key("average").where());
  return out;
}

}  // namespace

const nlohmann::json& MethodSpec::config_for(const std::string& model_id, const std::string& setting) const {
  const auto it = cell_config.find({model_id, setting});
  return it == cell_config.end() ? config : it->second;
}

bool MethodSpec::needs_calibration_for(const std::string& model_id, const std::string& setting) const {
  const auto it = cell_needs_calibration.find({model_id, setting});
  return it == cell_needs_calibration.end() ? needs_calibration : it->second;
}

bool MethodSpec::any_needs_calibration() const {
  return needs_calibration || std::any_of(cell_needs_calibration.begin(), cell_needs_calibration.end(),
                                          [](const auto& kv) { return kv.second; });
}

nlohmann::json SlurmResources::to_json() const {
  nlohmann::json j = nlohmann::json::object();
  if (gpus >= 0) j["gpus"] = gpus;
  if (cpus > 0) j["cpus"] = cpus;
  if (!mem.empty()) j["mem"] = mem;
  if (!time.empty()) j["time"] = time;
  return j;
}

// ${NAME} lets one experiment file serve every cluster (PTQ_MODELS=/scratch/models on one, /data/hf on
// another).
std::string expand_env_vars(const std::string& p, const std::string& where, std::string* unset) {
  if (unset != nullptr) unset->clear();
  std::string out;
  size_t pos = 0;
  while (pos < p.size()) {
    const size_t start = p.find("${", pos);
    if (start == std::string::npos) break;
    const size_t end = p.find('}', start);
    if (end == std::string::npos) throw InputError(fmt::format("{}: \"{}\": unterminated ${{...}}", where, p));
    const std::string name = p.substr(start + 2, end - start - 2);
    const char* value = name.empty() ? nullptr : std::getenv(name.c_str());
    if (value == nullptr && (name.empty() || unset == nullptr))
      throw InputError(fmt::format("{}: \"{}\": environment variable {} is not set", where, p, name.empty() ? "(empty name)" : name));
    if (value == nullptr && unset->empty()) *unset = name;
    out += p.substr(pos, start - pos) + (value != nullptr ? std::string(value) : p.substr(start, end + 1 - start));
    pos = end + 1;
  }
  return out + p.substr(std::min(pos, p.size()));
}

// "plugins": [paths relative to the spec], each loaded now (pipeline/plugins.h).
std::vector<std::string> load_spec_plugins(const nlohmann::json& v, const Ctx& ctx, const std::string& base_dir) {
  std::vector<std::string> out;
  const auto list = string_list(v, ctx);
  for (size_t i = 0; i < list.size(); ++i) {
    out.push_back(resolve_path(base_dir, list[i], ctx.index(i)));
    plugin::load_plugin(out.back(), ctx.index(i).where());
  }
  return out;
}

std::string default_paper_method(const std::string& method) {
  if (method == "fp") return "FP16";  // the full-precision row: not a method
  return methods::registry().get(method).paper_name();
}

ExperimentSpec parse_experiment_spec(const nlohmann::json& doc, const std::string& file, const std::string& base_dir) {
  const Ctx root(file, "");
  ExperimentSpec s;
  s.file = file;
  StrictJsonReader r(doc, file);
  r.read("name", s.name);
  r.read("description", s.description);
  r.read("fp_baseline", s.fp_baseline);
  for (const char* k : {"models", "settings", "methods", "calibration", "evaluators", "runtime", "papers", "plugins"})
    r.known(k);
  r.finish();
  if (s.name.empty()) root.fail("missing required key \"name\" (names the experiment in the database and reports)");
  check_name_length(s.name, root.key("name"));  // it names the plan file and the Slurm job directory
  for (char ch : s.name)
    if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_' || ch == '.'))
      root.key("name").fail(fmt::format("\"{}\" may use only letters, digits, '-', '_' and '.'", bounded_excerpt(s.name)));

  // Plugins first: their methods and tasks are names the rest of the spec may use.
  if (doc.contains("plugins")) s.plugins = load_spec_plugins(doc["plugins"], root.key("plugins"), base_dir);
  s.models = parse_models(require_key(doc, "models", root), root.key("models"), base_dir);
  if (doc.contains("settings")) {
    const Ctx sc = root.key("settings");
    const auto list = string_list(doc["settings"], sc);
    for (size_t i = 0; i < list.size(); ++i) s.settings.push_back(canonical_setting(list[i], sc.index(i)));
  }
  if (doc.contains("methods")) s.methods = parse_methods(doc["methods"], root.key("methods"), s.settings, s.models);
  if (s.methods.empty() && !s.fp_baseline) root.fail("no cells: no \"methods\" and fp_baseline is false");
  if (doc.contains("calibration")) s.calibration = parse_calibration(doc["calibration"], root.key("calibration"), base_dir);
  const bool needs_calibration =
      std::any_of(s.methods.begin(), s.methods.end(), [](const MethodSpec& m) { return m.any_needs_calibration(); });
  if (needs_calibration) {
    if (s.calibration.data.empty()) root.key("calibration").fail("a method needs calibration: give \"data\"");
    try {
      eval::resolve_calibration_file(s.calibration.dataset, s.calibration.data);
    } catch (const InputError& e) {
      root.key("calibration.data").fail(e.what());
    }
  }
  s.evaluators = parse_evaluators(require_key(doc, "evaluators", root), root.key("evaluators"), base_dir, &s.zeroshot_average);
  bool needs_tokenizer = false;
  for (const auto& e : s.evaluators) needs_tokenizer |= eval::evaluators().get(e.task).needs_tokenizer;
  needs_tokenizer |= needs_calibration;

  // Every setting must fit every model (group sizes divide the linears' widths); tokenizers must exist.
  for (size_t i = 0; i < s.models.size(); ++i) {
    if (!s.models[i].deferred.empty()) continue;  // checked when its cells run (plan.h resolve_deferred_models)
    const Ctx mc = root.key("models").index(i);
    const LlamaConfig config = LlamaConfig::from_file((fs::path(s.models[i].path) / "config.json").string());
    if (needs_tokenizer && !Tokenizer::find_in(s.models[i].path))
      mc.key("path").fail(fmt::format("{} has no tokenizer (tokenizer.model, tokenizer.json or original/tokenizer.model), "
                                      "which the evaluators and calibration need", s.models[i].path));
    for (size_t k = 0; k < s.methods.size(); ++k)
      for (const auto& setting : s.methods[k].settings) {
        try {
          quant::QuantSetting::parse(setting).validate_for(config);
        } catch (const InputError& e) {
          root.key("methods").index(k).fail(fmt::format("setting {} does not fit model {}: {}", setting, s.models[i].id, e.what()));
        }
      }
  }

  if (doc.contains("runtime")) {
    StrictJsonReader rt(doc["runtime"], root.key("runtime").where());
    rt.read("device", s.runtime.device);
    rt.read_choice("dtype", s.runtime.dtype, {"auto", "fp32", "fp16", "bf16"});
    rt.read("threads", s.runtime.threads);
    rt.read_choice("stream", s.runtime.stream, {"auto", "on", "off"});
    rt.read_choice("activations", s.runtime.activations, {"auto", "device", "host"});
    rt.read_choice("numerics", s.runtime.numerics, {"native", "reproducible"});
    rt.finish();
    check_threads(s.runtime.threads, root.key("runtime.threads").where());
    if (s.runtime.device != "cpu" && s.runtime.device.rfind("cuda", 0) != 0)
      root.key("runtime.device").fail(fmt::format("\"{}\", expected cpu or cuda[:N]", bounded_excerpt(s.runtime.device)));
  }
  if (doc.contains("papers")) {
    const Ctx pc = root.key("papers");
    const auto list = string_list(doc["papers"], pc);
    for (size_t i = 0; i < list.size(); ++i) {
      s.papers.push_back(resolve_path(base_dir, list[i], pc.index(i)));
      std::error_code ec;
      if (!fs::is_regular_file(s.papers.back(), ec)) pc.index(i).fail(fmt::format("file not found: {}", bounded_excerpt(s.papers.back())));
    }
  }
  return s;
}

void require_models_present(const ExperimentSpec& spec) {
  for (size_t i = 0; i < spec.models.size(); ++i)
    if (!spec.models[i].deferred.empty()) throw InputError(fmt::format("{}: models[{}].path: {}", spec.file, i, spec.models[i].deferred));
}

ExperimentSpec load_experiment_spec(const std::string& path) {
  // Strict: a key given twice is an error (which one did the author mean?), as in --config.
  const nlohmann::json doc = io::read_json_file(path, {/*reject_duplicate_keys=*/true});
  return parse_experiment_spec(doc, path, fs::path(path).parent_path().string());
}

}  // namespace ptq::run
