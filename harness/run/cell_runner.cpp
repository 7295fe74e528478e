#include "run/cell_runner.h"

#include "calibration/calibration.h"
#include "io/files.h"
#include "model/checkpoint.h"
#include "model/llama_config.h"
#include "model/tokenizer.h"
#include "perplexity/perplexity.h"
#include "perplexity/ppl_tasks.h"
#include "quant/method.h"
#include "quant/quant_setting.h"
#include "register_all.h"
#include "run/fingerprint.h"
#include "run/matrix_runner.h"
#include "run/numerics.h"
#include "run/provenance.h"
#include "run/runtime.h"
#include "run/streaming_choice.h"
#include "store/sample_log.h"
#include "util/errors.h"
#include "util/stop_request.h"
#include "zeroshot/zeroshot.h"

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

nlohmann::json number_or_null(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

nlohmann::json metric(const std::string& name, double value, double stderr_value, int64_t n) {
  return {{"name", name}, {"value", number_or_null(value)}, {"stderr", number_or_null(stderr_value)}, {"n", n}};
}

std::string host_name() {
  char host[256] = {0};
  ::gethostname(host, sizeof host - 1);
  return host;
}

// The work of one cell; throws on any failure. Fills `result`; per-example logs go to <dir>/samples/.
void compute_cell(const nlohmann::json& cell, const CellRunOptions& options, const fs::path& dir, nlohmann::json& result) {
  const std::string work_dir = (dir / "work").string();
  const std::string samples_dir = (dir / "samples").string();
  const auto t_start = Clock::now();
  nlohmann::json timing = nlohmann::json::object();
  const auto& rt = cell.at("runtime");
  // `ptqbench run --plan P --index I` entered the cell's mode before anything ran (a re-exec, when the
  // kernel pins were missing); here it is a check, or the entry for in-process callers.
  enter_numerics(parse_numerics(rt.value("numerics", "native"), "runtime.numerics"));
  const int threads = configure_threads(rt.at("threads").get<int>());
  const c10::Device device = parse_device(rt.at("device").get<std::string>());
  const c10::ScalarType dtype = parse_dtype(rt.at("dtype").get<std::string>(), device);
  result["provenance"]["environment"] = environment_info(device);
  result["provenance"]["environment"]["threads"] = threads;
  result["provenance"]["dtype"] = dtype_name(dtype);

  // The model must be the one that was planned (its fingerprint is in the run id).
  const std::string model_dir = cell.at("model").at("path").get<std::string>();
  const nlohmann::json fingerprint = model_fingerprint(model_dir);
  if (fingerprint.at("sha256") != cell.at("model").at("fingerprint").at("sha256"))
    throw InputError(fmt::format("model {} changed since the plan was made (fingerprint {} != {}): plan again",
                                 model_dir, fingerprint.at("sha256").get<std::string>(),
                                 cell.at("model").at("fingerprint").at("sha256").get<std::string>()));
  const LlamaConfig config = LlamaConfig::from_file((fs::path(model_dir) / "config.json").string());
  const quant::QuantSetting setting = quant::QuantSetting::parse(cell.at("setting").get<std::string>());
  const std::string method_name = cell.at("method").get<std::string>();
  const quant::Method* method = method_name == "fp" ? nullptr : &methods::registry().get(method_name);

  // Data first: a bad file fails the cell before the model is loaded.
  auto t = Clock::now();
  const eval::TokenCache cache(options.cache_dir);
  std::optional<Tokenizer> tokenizer;
  const std::string tokenizer_path = (fs::path(model_dir) / "tokenizer.model").string();
  if (io::file_exists(tokenizer_path)) {
    tokenizer = Tokenizer::load(tokenizer_path);
    result["provenance"]["tokenizer_sha256"] = tokenizer->sha256();
  }
  const auto need_tokenizer = [&]() -> const Tokenizer& {
    if (!tokenizer) throw InputError(fmt::format("{}: no tokenizer.model", model_dir));
    return *tokenizer;
  };
  struct Loaded {
    nlohmann::json spec;
    std::optional<eval::EvalStream> stream;
    std::optional<eval::LoadedTask> task;
  };
  std::vector<Loaded> loaded;
  for (const auto& e : cell.at("evaluators")) {
    Loaded l{e, std::nullopt, std::nullopt};
    const std::string task = e.at("task").get<std::string>();
    if (eval::find_zeroshot_task(task)) {
      l.task = eval::load_zeroshot_task(task, e.at("data").get<std::string>());
    } else {
      const int64_t seqlen = std::min<int64_t>(e.at("seqlen").get<int64_t>(), config.max_position_embeddings);
      l.spec["seqlen_used"] = seqlen;
      l.stream = eval::load_eval_stream(task, e.at("data").get<std::string>(),
                                        eval::find_ppl_task(task).needs_tokenizer ? &need_tokenizer() : nullptr, seqlen,
                                        cache);
    }
    loaded.push_back(std::move(l));
  }
  std::optional<eval::CalibrationSet> calibration;
  quant::MethodContext ctx;
  ctx.progress = options.progress;
  ctx.work_dir = work_dir;  // per-block checkpoints: a killed cell resumes inside its method
  ctx.activations = rt.value("activations", "auto");  // plans made before streaming lack the key
  if (method && method->needs_calibration(cell.at("config"))) {
    const auto& c = cell.at("calibration");
    calibration = eval::sample_calibration(c.at("dataset").get<std::string>(), c.at("data").get<std::string>(),
                                           need_tokenizer(), c.at("n").get<int64_t>(), c.at("seqlen").get<int64_t>(),
                                           c.at("seed").get<int64_t>(), cache);
    ctx.calibration = &calibration->windows;
    result["calibration"] = calibration->provenance;
  }
  timing["data_s"] = seconds_since(t);

  t = Clock::now();
  const StreamingChoice streaming = choose_streaming(rt.value("stream", "auto"), model_dir, device, dtype);
  // Blocks a method changes rest in work/stream/ (removed by run_cell however the cell ends).
  LlamaModel model = load_llama(model_dir, {dtype, device, streaming.stream, (fs::path(work_dir) / "stream").string()});
  result["provenance"]["streaming"] = {{"streamed", streaming.stream}, {"reason", streaming.reason},
                                       {"activations", ctx.activations}};
  timing["load_s"] = seconds_since(t);

  quant::EvalAdapter adapter;
  if (method) {
    throw_if_stop_requested("before quantizing");
    t = Clock::now();
    const quant::MethodReport report = method->apply(model, setting, cell.at("config"), ctx);
    timing["quantize_s"] = seconds_since(t);
    result["method_summary"] = report.summary;
    adapter = report.evaluation_adapter;
  } else {
    timing["quantize_s"] = 0.0;
  }

  nlohmann::json metrics = nlohmann::json::array();
  nlohmann::json details = nlohmann::json::object();
  nlohmann::json eval_s = nlohmann::json::object();
  std::map<std::string, double> reported;  // zero-shot task -> percent
  for (auto& l : loaded) {
    const std::string task = l.spec.at("task").get<std::string>();
    throw_if_stop_requested("before evaluating " + task);
    if (l.stream) {
      eval::PplOptions popt;
      popt.seqlen = l.spec.at("seqlen_used").get<int64_t>();
      popt.limit = l.spec.at("limit").get<int64_t>();
      popt.batch_size = l.spec.at("batch_size").get<int64_t>();
      popt.label = task;
      popt.progress = options.progress;
      // Evaluation-time adaptation (LRQuant's TTA) on exactly the windows that will be scored.
      std::shared_ptr<LlamaModel> adapted;
      nlohmann::json adaptation = nullptr;
      if (adapter) {
        const auto ta = Clock::now();
        const at::Tensor segments = eval::scored_windows(l.stream->ids, popt);
        quant::EvalAdaptationRequest req;
        req.task = task;
        req.calibration_dataset = cell.at("calibration").is_object() ? cell.at("calibration").at("dataset").get<std::string>() : "";
        req.segments = &segments;
        req.progress = options.progress;
        adaptation = nlohmann::json::object();
        adapted = adapter(model, req, adaptation);
        adaptation["seconds"] = seconds_since(ta);
      }
      const eval::PplResult r = eval::evaluate_perplexity(adapted ? *adapted : model, l.stream->ids, popt);
      if (!std::isfinite(r.ppl)) throw std::runtime_error(fmt::format("{} perplexity is {} (NaN/inf logits)", task, r.ppl));
      metrics.push_back(metric(task + "_ppl", r.ppl, r.stderr_ppl, r.nsamples));
      details[task] = {{"protocol", l.stream->protocol}, {"seqlen", r.seqlen}, {"ppl", r.ppl}, {"nll", r.nll},
                       {"tokens", r.tokens}, {"nsamples", r.nsamples}, {"nsamples_total", r.nsamples_total},
                       {"provenance", l.stream->provenance}, {"notices", l.stream->notices}};
      if (!adaptation.is_null()) details[task]["evaluation_adaptation"] = adaptation;
      details[task]["samples"] = store::write_sample_log(samples_dir, task, store::perplexity_sample_records(r));
      eval_s[task] = r.seconds;
    } else {
      eval::ZeroShotOptions zopt;
      zopt.mode = eval::parse_lm_eval_mode(l.spec.at("lm_eval_mode").get<std::string>());
      zopt.limit = l.spec.at("limit").get<int64_t>();
      zopt.batch_size = l.spec.at("batch_size").get<int64_t>();
      zopt.reported_metric = l.spec.at("metric").get<std::string>();
      zopt.progress = options.progress;
      const eval::ZeroShotResult r = eval::evaluate_zeroshot(model, need_tokenizer(), *l.task, zopt);
      const eval::Metric& main = r.reported_metric == "acc_norm" ? *r.acc_norm : r.acc;
      metrics.push_back(metric(task, 100 * main.value, 100 * main.stderr_value, r.n));
      metrics.push_back(metric(task + "_acc", 100 * r.acc.value, 100 * r.acc.stderr_value, r.n));
      if (r.acc_norm) metrics.push_back(metric(task + "_acc_norm", 100 * r.acc_norm->value, 100 * r.acc_norm->stderr_value, r.n));
      if (r.ppl) metrics.push_back(metric(task + "_ppl", r.ppl->value, r.ppl->stderr_value, r.n));
      reported[task] = 100 * r.reported_value;
      details[task] = r.to_json();
      details[task]["samples"] = store::write_sample_log(samples_dir, task, store::zeroshot_sample_records(r));
      eval_s[task] = r.seconds;
    }
  }
  const auto& average = cell.at("zeroshot_average");
  if (!average.empty()) {
    double sum = 0;
    for (const auto& name : average) sum += reported.at(name.get<std::string>());
    metrics.push_back(metric("zeroshot_avg", sum / average.size(), NAN, static_cast<int64_t>(average.size())));
  }
  timing["eval_s"] = eval_s;
  timing["total_s"] = seconds_since(t_start);
  result["metrics"] = metrics;
  result["details"] = details;
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

bool lower_is_better(const std::string& metric) {
  return metric.size() > 4 && metric.compare(metric.size() - 4, 4, "_ppl") == 0;
}

CellOutcome run_cell(const nlohmann::json& cell, const CellRunOptions& options) {
  const std::string run_id = cell.at("run_id").get<std::string>();
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
  io::write_file_atomic((dir / "cell.json").string(), cell.dump(2) + "\n");
  const std::string started = utc_timestamp();
  io::write_file_atomic((dir / "started.json").string(),
                        nlohmann::json{{"host", host_name()}, {"pid", ::getpid()}, {"started", started}}.dump() + "\n");

  nlohmann::json result = {{"format", 1},
                           {"run_id", run_id},
                           {"experiment", cell.at("experiment")},
                           {"status", "ok"},
                           {"error", nullptr},
                           {"cell", cell},
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
    fmt::print(stderr, "ptqbench: {}: {}\n", describe_cell(cell), e.what());
    return CellOutcome::kStopped;  // no result.json: the cell is still to do, and resumes from work/
  } catch (const std::exception& e) {
    const std::string what = e.what();
    result["status"] = "failed";
    result["error"] = what.substr(0, what.find('\n'));
    result["error_kind"] = dynamic_cast<const InputError*>(&e) ? "input" : "internal";
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
