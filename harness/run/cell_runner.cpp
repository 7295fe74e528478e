#include "harness/run/cell_runner.h"

#include "evaluators/evaluator.h"
#include "harness/io/files.h"
#include "harness/model/checkpoint.h"
#include "harness/model/llama_config.h"
#include "harness/model/tokenizer.h"
#include "harness/pipeline/evaluate.h"
#include "harness/pipeline/plugins.h"
#include "harness/pipeline/quantize.h"
#include "harness/ptq/packed_size.h"
#include "harness/ptq/quant_setting.h"
#include "harness/run/fingerprint.h"
#include "harness/run/matrix_runner.h"
#include "harness/run/provenance.h"
#include "harness/util/errors.h"
#include "harness/util/numerics.h"
#include "harness/util/runtime.h"
#include "harness/util/stop_request.h"

#include <ATen/ATen.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <optional>

namespace fs = std::filesystem;

namespace ptq::run {

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::string host_name() {
  char host[256] = {0};
  ::gethostname(host, sizeof host - 1);
  return host;
}

// The tasks a plan line lists, as the evaluators take them.
std::vector<eval::TaskSpec> task_specs(const Cell& cell, const LlamaConfig& config) {
  std::vector<eval::TaskSpec> specs;
  for (const auto& e : cell.evaluators) {
    eval::TaskSpec s;
    s.task = e.task;
    s.data = e.data;
    s.limit = e.limit;
    s.batch_size = e.batch_size;
    if (e.zeroshot) {
      s.lm_eval_mode = e.lm_eval_mode;
      s.reported_metric = e.metric;
    } else {
      s.seqlen = std::min<int64_t>(e.seqlen, config.max_position_embeddings);
    }
    specs.push_back(std::move(s));
  }
  return specs;
}

pipeline::CalibrationRequest calibration_request(const std::optional<CellCalibration>& c) {
  if (!c) return {};
  return {c->dataset, c->data, c->n, c->seqlen, c->seed};
}

// The model must be the one that was planned (its fingerprint is in the run id).
void check_fingerprint(const Cell& cell) {
  const nlohmann::json fingerprint = model_fingerprint(cell.model.path);
  const std::string planned = cell.model.fingerprint.at("sha256").get<std::string>();
  if (fingerprint.at("sha256") != planned)
    throw InputError(fmt::format("model {} changed since the plan was made (fingerprint {} != {}): plan again",
                                 cell.model.path, fingerprint.at("sha256").get<std::string>(), planned));
}

// The plugins the cell's method and tasks come from (a worker of `run --plan` loads them from the plan's
// paths; `run SPEC` has loaded them with the spec) as provenance: what was loaded, with the file's hash
// now and when planned. InputError when a plugin of that name is loaded with another version.
nlohmann::json load_cell_plugins(const Cell& cell) {
  nlohmann::json out = nlohmann::json::array();
  for (const CellPlugin& planned : cell.plugins) {
    const plugin::LoadedPlugin* p = plugin::plugin_named(planned.name);
    const plugin::LoadedPlugin& loaded =
        p != nullptr ? *p : plugin::load_plugin(planned.path, fmt::format("{} plugins", cell.describe()));
    if (loaded.name != planned.name || loaded.version != planned.version)
      throw InputError(fmt::format("{}: planned with plugin {} {} from {}, but {} is plugin {} {}: plan again",
                                   cell.describe(), planned.name, planned.version, planned.path, loaded.path, loaded.name,
                                   loaded.version));
    nlohmann::json record = loaded.provenance();
    record["planned_sha256"] = planned.sha256;
    out.push_back(std::move(record));
  }
  return out;
}

// The work of one cell through the pipeline (harness/pipeline/); throws on any failure. Fills `result`;
// per-example logs go to <dir>/samples/.
void compute_cell(const Cell& cell, const CellRunOptions& options, const fs::path& dir, nlohmann::json& result) {
  const std::string work_dir = (dir / "work").string();
  const auto t_start = Clock::now();
  nlohmann::json timing = nlohmann::json::object();
  const CellRuntime& rt = cell.runtime;
  // `ptqbench run --plan P --index I` entered the cell's mode before anything ran (a re-exec, when the
  // kernel pins were missing); here it is a check, or the entry for in-process callers.
  enter_numerics(parse_numerics(rt.numerics, "runtime.numerics"));
  const int threads = configure_threads(rt.threads);
  const c10::Device device = parse_device(rt.device);
  const c10::ScalarType dtype = parse_dtype(rt.dtype, device);
  result["provenance"]["environment"] = environment_info(device);
  result["provenance"]["environment"]["threads"] = threads;
  result["provenance"]["dtype"] = dtype_name(dtype);
  if (!cell.plugins.empty()) result["provenance"]["plugins"] = load_cell_plugins(cell);

  const std::string& model_dir = cell.model.path;
  check_fingerprint(cell);
  const LlamaConfig config = LlamaConfig::from_file((fs::path(model_dir) / "config.json").string());
  const quant::QuantSetting setting = quant::QuantSetting::parse(cell.setting);
  const pipeline::ResolvedMethod method = pipeline::resolve_method(cell.method, cell.config);
  pipeline::check_model_support(method, config, setting, calibration_request(cell.calibration).seqlen);
  for (const auto& e : cell.evaluators)  // perplexity segments longer than a sliding window: refused now, not after quantizing
    if (!e.zeroshot) config.check_sequence_length(std::min<int64_t>(e.seqlen, config.max_position_embeddings));

  // Data first: a bad file fails the cell before the model is loaded.
  auto t = Clock::now();
  const eval::TokenCache cache(options.cache_dir);
  std::optional<Tokenizer> tokenizer;
  if (const auto tokenizer_path = Tokenizer::find_in(model_dir)) {
    tokenizer = Tokenizer::load(*tokenizer_path);
    check_tokenizer_fits(*tokenizer, config, (fs::path(model_dir) / "config.json").string());
    result["provenance"]["tokenizer_sha256"] = tokenizer->sha256();
    result["provenance"]["tokenizer"] = {{"kind", tokenizer->kind()},
                                         {"file", fs::path(*tokenizer_path).lexically_relative(model_dir).string()},
                                         {"input", tokenizer->added_tokens_description()},
                                         {"special_strings", tokenizer->matches_special_strings() ? "matched" : "text"}};
  }
  const Tokenizer* tok = tokenizer ? &*tokenizer : nullptr;
  const pipeline::Tasks tasks = pipeline::load_tasks(task_specs(cell, config), {tok, &cache, model_dir});
  const std::optional<eval::CalibrationSet> calibration =
      pipeline::sample_calibration(method, calibration_request(cell.calibration), tok, cache, model_dir);
  if (calibration) result["calibration"] = calibration->provenance;
  timing["data_s"] = seconds_since(t);

  t = Clock::now();
  // Blocks a method changes rest in work/stream/ (removed by run_cell however the cell ends).
  pipeline::LoadedModel loaded = pipeline::load_model(model_dir, dtype, device, rt.stream,
                                                      (fs::path(work_dir) / "stream").string());
  pipeline::QuantizeRequest request;
  request.setting = setting;
  request.calibration = calibration ? &calibration->windows : nullptr;
  request.progress = options.progress;
  request.work_dir = work_dir;  // per-block checkpoints: a killed cell resumes inside its method
  request.activations = rt.activations;
  result["provenance"]["streaming"] = {{"streamed", loaded.streaming.stream}, {"reason", loaded.streaming.reason},
                                       {"activations", request.activations}};
  timing["load_s"] = seconds_since(t);

  const pipeline::Quantized quantized = pipeline::quantize(loaded.model, method, request);
  timing["quantize_s"] = quantized.seconds;
  if (method.method) result["method_summary"] = quantized.report.summary;
  // The size on disk of the GPTQ-packed export of what was just quantized (the model's config after the
  // method: LET's biases count), for reports' bits/w; FP cells record float16 (16 bits per weight).
  result["size"] = quant::packed_size_json(loaded.model.config(), setting);

  pipeline::EvaluateOptions eo;
  eo.progress = options.progress;
  eo.samples_dir = (dir / "samples").string();
  eo.average = cell.zeroshot_average;
  eo.fail_on_nonfinite = true;
  eo.adapter = quantized.adapter;
  eo.calibration_dataset = cell.calibration ? cell.calibration->dataset : "";
  const pipeline::Evaluation evaluation = pipeline::evaluate(loaded.model, tasks, eo);
  nlohmann::json metrics = nlohmann::json::array();
  for (const auto& m : evaluation.metrics) metrics.push_back(m.to_json());
  timing["eval_s"] = evaluation.seconds;
  timing["total_s"] = seconds_since(t_start);
  result["metrics"] = metrics;
  result["details"] = evaluation.details;
  result["timing"] = timing;
  result["memory"] = peak_memory(device);
}

}  // namespace

std::string runs_dir(const std::string& results_dir) { return (fs::path(results_dir) / "runs").string(); }

std::string cell_dir(const std::string& results_dir, const std::string& run_id) {
  return (fs::path(runs_dir(results_dir)) / run_id).string();
}

CellState cell_state(const std::string& results_dir, const std::string& run_id) {
  const fs::path dir = cell_dir(results_dir, run_id);
  if (io::file_exists((dir / "DONE").string())) return CellState::kDone;
  if (io::file_exists((dir / "result.json").string())) return CellState::kFailed;
  return CellState::kMissing;
}

CellOutcome run_cell(const Cell& cell, const CellRunOptions& options) {
  // A provisional id is no place for a result: the model decides the final one.
  if (cell.run_id_provisional())
    throw InputError(fmt::format("{}: planned without its model (fingerprint deferred): resolve_deferred_models first",
                                 cell.describe()));
  const std::string& run_id = cell.run_id;
  const fs::path dir = cell_dir(options.results_dir, run_id);
  if (!options.force && cell_state(options.results_dir, run_id) == CellState::kDone) return CellOutcome::kSkipped;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw std::runtime_error(fmt::format("cannot create {}: {}", dir.string(), ec.message()));
  // One worker per cell: the lock lives as long as this process holds the descriptor.
  const int lock_fd = ::open((dir / "lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd < 0) throw std::runtime_error(fmt::format("cannot create {}/lock", dir.string()));
  struct LockGuard {
    int fd;
    ~LockGuard() { ::close(fd); }
  } lock_guard{lock_fd};
  if (::flock(lock_fd, LOCK_EX | LOCK_NB) != 0) return CellOutcome::kBusy;
  if (!options.force && cell_state(options.results_dir, run_id) == CellState::kDone) return CellOutcome::kSkipped;
  fs::remove(dir / "DONE", ec);  // --force: the old result stops counting as finished
  const nlohmann::json cell_json = cell.to_json();
  io::write_file_atomic((dir / "cell.json").string(), cell_json.dump(2) + "\n");
  const std::string started = utc_timestamp();
  io::write_file_atomic((dir / "started.json").string(),
                        nlohmann::json{{"host", host_name()}, {"pid", ::getpid()}, {"started", started}}.dump() + "\n");

  nlohmann::json result = {{"format", 1},
                           {"run_id", run_id},
                           {"experiment", cell.experiment},
                           {"status", "ok"},
                           {"error", nullptr},
                           {"cell", cell_json},
                           {"provenance",
                            {{"started", started}, {"host", host_name()}, {"scheduler", scheduler_info()},
                             {"harness_version", harness_version()}}}};
  CellOutcome outcome = CellOutcome::kOk;
  // A streamed model's spilled blocks (work/stream, the model's size) never serve another process: a
  // resumed cell re-folds its blocks from the method's checkpoints. Removed however the cell ends.
  struct RemoveSpill {
    fs::path dir;
    ~RemoveSpill() {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  } remove_spill{dir / "work" / "stream"};
  try {
    compute_cell(cell, options, dir, result);
  } catch (const StopRequested& e) {
    fmt::print(stderr, "ptqbench: {}: {}\n", cell.describe(), e.what());
    return CellOutcome::kStopped;  // no result.json: the cell is still to do, and resumes from work/
  } catch (const std::exception& e) {
    const std::string what = e.what();
    result["status"] = "failed";
    result["error"] = what.substr(0, what.find('\n'));
    result["error_kind"] = dynamic_cast<const InputError*>(&e) ? "input" : "internal";
    outcome = CellOutcome::kFailed;
  } catch (...) {
    // Not a std::exception: plugin code may throw anything (`throw 42`); the cell fails, the run goes on.
    result["status"] = "failed";
    result["error"] = "an exception that is not a std::exception (thrown by plugin code?)";
    result["error_kind"] = "internal";
    outcome = CellOutcome::kFailed;
  }
  result["provenance"]["finished"] = utc_timestamp();
  io::write_file_atomic((dir / "result.json").string(), result.dump(2) + "\n");
  if (outcome == CellOutcome::kOk) {
    io::write_file_atomic((dir / "DONE").string(), run_id + "\n");
    fs::remove_all(dir / "work", ec);  // method checkpoints are only needed until the cell is done
  }
  return outcome;
}

}  // namespace ptq::run
