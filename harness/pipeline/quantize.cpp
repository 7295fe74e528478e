#include "harness/pipeline/quantize.h"

#include "harness/model/checkpoint.h"
#include "harness/ptq/gptq_checkpoint.h"
#include "harness/util/errors.h"
#include "harness/util/stop_request.h"
#include "methods/register_all.h"

#include <fmt/format.h>

#include <chrono>

namespace ptq::pipeline {

ResolvedMethod resolve_method(const std::string& name, const nlohmann::json& overrides) {
  ResolvedMethod r;
  if (name == "fp") {
    r.config = overrides;
    return r;
  }
  r.method = &methods::registry().get(name);
  r.config = r.method->resolve_config(overrides);
  r.needs_calibration = r.method->needs_calibration(r.config);
  return r;
}

void check_model_support(const ResolvedMethod& method, const LlamaConfig& config, const quant::QuantSetting& setting,
                         int64_t calibration_seqlen) {
  if (!method.method) return;
  method.method->check_model(config, setting, method.config);
  if (method.needs_calibration) config.check_sequence_length(calibration_seqlen);
}

void check_calibration_data(const ResolvedMethod& method, const CalibrationRequest& request) {
  if (!method.needs_calibration) return;
  if (request.data.empty())
    throw InputError(fmt::format("method {} needs calibration data: give --calib-data (the {} train split)",
                                 method.name(), request.dataset));
  eval::resolve_calibration_file(request.dataset, request.data);
}

std::optional<eval::CalibrationSet> sample_calibration(const ResolvedMethod& method, const CalibrationRequest& request,
                                                       const Tokenizer* tokenizer, const eval::TokenCache& cache,
                                                       const std::string& model_dir) {
  if (!method.needs_calibration) return std::nullopt;
  check_calibration_data(method, request);  // names the missing file before the tokenizer
  if (!tokenizer) throw InputError(fmt::format("{}: no tokenizer (tokenizer.model or tokenizer.json; calibration needs it)", model_dir));
  return eval::sample_calibration(request.dataset, request.data, *tokenizer, request.n, request.seqlen, request.seed,
                                  cache);
}

LoadedModel load_model(const std::string& dir, c10::ScalarType dtype, c10::Device device, const std::string& stream,
                       const std::string& spill_dir) {
  // A packed GPTQ checkpoint's linears are read de-quantized (ptq/gptq_checkpoint.h), streamed or not.
  io::TensorStore store = quant::gptq::open_model_store(dir);
  const StreamingChoice streaming = choose_streaming(stream, store, device, dtype);
  LoadedModel m{load_llama(dir, std::move(store), {dtype, device, streaming.stream, spill_dir}), streaming,
                quant::read_quantization_info(dir)};
  if (m.quantization) quant::apply_checkpoint_activation_quant(m.model, m.quantization->setting, dir);
  return m;
}

Quantized quantize(LlamaModel& model, const ResolvedMethod& method, const QuantizeRequest& request) {
  Quantized q;
  if (!method.method) return q;
  throw_if_stop_requested("before quantizing");
  method.method->check_model(model.config(), request.setting, method.config);
  quant::MethodContext ctx;
  ctx.calibration = request.calibration;
  ctx.progress = request.progress;
  ctx.work_dir = request.work_dir;
  ctx.activations = request.activations;
  ctx.loss_log = request.loss_log;
  ctx.profile_trace = request.profile_trace;
  q.adapter = method.method->evaluation_adapter(model, request.setting, method.config);
  const auto start = std::chrono::steady_clock::now();
  q.report = method.method->apply(model, request.setting, method.config, ctx);
  q.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return q;
}

}  // namespace ptq::pipeline
