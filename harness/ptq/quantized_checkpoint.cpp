#include "harness/ptq/quantized_checkpoint.h"

#include "harness/io/files.h"
#include "harness/io/json_file.h"
#include "harness/io/safetensors.h"
#include "harness/io/tensor_store.h"
#include "harness/model/checkpoint.h"
#include "harness/model/tokenizer.h"
#include "harness/quant/fused_fake_quant_math.h"
#include "harness/util/errors.h"
#include "harness/util/input_limits.h"
#include "harness/util/text.h"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>
#include <filesystem>
#include <map>

namespace fs = std::filesystem;

namespace ptq::quant {

std::optional<QuantizationInfo> read_quantization_info(const std::string& dir) {
  const std::string path = (fs::path(dir) / kQuantizationFile).string();
  if (!io::file_exists(path)) return std::nullopt;
  QuantizationInfo info;
  info.document = io::read_json_file(path);
  const auto& d = info.document;
  if (!d.is_object() || !d.contains("format_version") || !d.contains("setting") || !d.contains("method") ||
      !d["setting"].is_string() || !d["method"].is_string())
    throw InputError(fmt::format("{}: expected an object with format_version, setting and method", path));
  if (d["format_version"] != kQuantizationFormat)
    throw InputError(fmt::format("{}: format_version {} is not supported (expected {})", path,
                                 d["format_version"].dump(), kQuantizationFormat));
  info.setting = QuantSetting::parse(d["setting"].get<std::string>());
  info.method = d["method"].get<std::string>();
  return info;
}

namespace {

// "first: <value> at [r, c]" of the first element where `bad` holds, with the count, or "" when none.
std::string first_bad(const at::Tensor& values, const at::Tensor& bad) {
  const int64_t count = bad.sum().item<int64_t>();
  if (count == 0) return "";
  const at::Tensor at_ = bad.nonzero()[0];
  std::vector<int64_t> index;
  for (int64_t d = 0; d < at_.size(0); ++d) index.push_back(at_[d].item<int64_t>());
  at::Tensor v = values;
  for (const int64_t i : index) v = v[i];
  return fmt::format("{} of {} (first: {} at [{}])", count, values.numel(), v.item<double>(), fmt::join(index, ", "));
}

void check_qparam_values(const io::SafetensorsFile& file, const std::string& name, bool is_scale) {
  const at::Tensor t = file.load(name).to(at::kDouble);
  const auto fail = [&](const std::string& what) {
    return InputError(fmt::format("{}: tensor '{}' has {} {}", file.path(), name, what,
                                  is_scale ? "scales that are not finite and > 0" : "zero points that are not finite integers"
                                  " within +-1e4"));
  };
  at::Tensor bad = at::logical_not(at::isfinite(t));
  if (is_scale) bad = bad.logical_or(t.le(0));
  else bad = bad.logical_or(t.abs().gt(quant::fused::kZeroBound)).logical_or(t.ne(at::round(t)));
  if (const std::string b = first_bad(t, bad); !b.empty()) throw fail(b);
}

}  // namespace

namespace {

// "<linear>.weight_g_idx" (GPTQ with act_order and groups: the group of each input column): [in], integers
// in [0, groups).
void check_g_idx(const io::SafetensorsFile& file, const io::TensorInfo& t, int64_t in, int64_t groups) {
  const auto bad = [&](const std::string& what) {
    return InputError(fmt::format("{}: tensor '{}' {}", file.path(), t.name, what));
  };
  if (t.shape != std::vector<int64_t>{in})
    throw bad(fmt::format("has shape [{}], expected [{}] (the group of each input column)", fmt::join(t.shape, ", "), in));
  if (io::safetensors_dtype_bits(t.dtype) == 0 || t.dtype == "BOOL")
    throw bad(fmt::format("has dtype {}, expected an integer or floating-point dtype", t.dtype));
  const at::Tensor g = file.load(t.name).to(at::kDouble);
  const at::Tensor wrong = at::logical_not(at::isfinite(g)).logical_or(g.ne(at::round(g))).logical_or(g.lt(0)).logical_or(g.ge(groups));
  if (const std::string b = first_bad(g, wrong); !b.empty())
    throw bad(fmt::format("has {} values that are not integer groups in [0, {})", b, groups));
}

// "model.layers.<i>.ptqbench_act_clip" (CBQ's learned activation clipping, kept beside the scales): the
// shape expected_tensors gives it, floating point.
void check_act_clip(const io::SafetensorsFile& file, const io::TensorInfo& t, const std::vector<int64_t>& want) {
  if (t.shape != want || !io::safetensors_dtype_is_float(t.dtype))
    throw InputError(fmt::format("{}: tensor '{}' has shape [{}] and dtype {}, expected [{}] floating point (the learned "
                                 "activation clipping of a block)", file.path(), t.name, fmt::join(t.shape, ", "), t.dtype,
                                 fmt::join(want, ", ")));
}

}  // namespace

size_t validate_quant_params(const std::string& dir, const LlamaConfig& config, const QuantSetting& setting) {
  const std::string path = (fs::path(dir) / kQParamsFile).string();
  if (!io::file_exists(path)) return 0;
  const io::SafetensorsFile file(path);
  std::map<std::string, std::vector<int64_t>> linears, act_clips;  // "<linear>" -> [out, in]; act clip -> shape
  for (const auto& [name, shape] : expected_tensors(config)) {
    if (ends_with(name, "_proj.weight")) linears[name.substr(0, name.size() - 7)] = shape;
    if (ends_with(name, kActClipTensor)) act_clips[name] = shape;
  }
  std::vector<std::string> linear_names;
  for (const auto& [n, s] : linears) linear_names.push_back(n);
  std::map<std::string, int> halves;  // a scale and a zero point per linear
  for (const auto& t : file.tensors()) {
    const auto bad = [&](const std::string& what) {
      return InputError(fmt::format("{}: tensor '{}' {}", path, bounded_excerpt(t.name), what));
    };
    if (const auto clip = act_clips.find(t.name); clip != act_clips.end()) {
      check_act_clip(file, t, clip->second);
      continue;
    }
    const bool is_scale = ends_with(t.name, ".weight_scale"), is_g_idx = ends_with(t.name, ".weight_g_idx");
    if (!is_scale && !is_g_idx && !ends_with(t.name, ".weight_zero"))
      throw bad("is not '<linear>.weight_scale', '<linear>.weight_zero', '<linear>.weight_g_idx' or a block's "
                "ptqbench_act_clip");
    const std::string linear = t.name.substr(0, t.name.rfind(".weight_"));
    const auto it = linears.find(linear);
    if (it == linears.end()) {
      const std::string hint = closest_match(linear, linear_names);
      throw bad(fmt::format("names no linear of this model{}", hint.empty() ? "" : fmt::format(" (did you mean '{}'?)", hint)));
    }
    const int64_t out = it->second[0], in = it->second[1];
    const int64_t groups = setting.group_size > 0 ? in / setting.group_size : 1;
    if (is_g_idx) {
      check_g_idx(file, t, in, groups);
      continue;
    }
    const std::vector<int64_t> want = {out, groups};
    if (t.shape != want)
      throw bad(fmt::format("has shape [{}], expected [{}] for a [{}, {}] linear at group size {}", fmt::join(t.shape, ", "),
                            fmt::join(want, ", "), out, in, setting.group_size));
    if (!io::safetensors_dtype_is_float(t.dtype)) throw bad(fmt::format("has dtype {}, expected F32, F16 or BF16", t.dtype));
    check_qparam_values(file, t.name, is_scale);
    halves[linear] += is_scale ? 1 : 2;
  }
  for (const auto& [linear, h] : halves)
    if (h != 3)
      throw InputError(fmt::format("{}: '{}' has a {} but no {}", path, linear, h == 1 ? "weight_scale" : "weight_zero",
                                   h == 1 ? "weight_zero" : "weight_scale"));
  return file.tensors().size();
}

void apply_checkpoint_activation_quant(LlamaModel& model, const QuantSetting& setting, const std::string& dir) {
  validate_quant_params(dir, model.config(), setting);
  apply_activation_quant(model, setting);
  if (!model.config().act_clip) return;
  const auto store = io::TensorStore::open_dir(dir);  // load_llama checked the names and shapes
  for (size_t i = 0; i < model.num_blocks(); ++i) {
    const at::Tensor logits = store.load(fmt::format("model.layers.{}.{}", i, kActClipTensor));
    model.set_activation_hook(i, with_clipping(model.activation_hook(i), logits.to(model.device(), model.dtype())));
  }
}

void copy_tokenizer_files(const std::string& source_model_dir, const std::string& dir) {
  for (const std::string& name : Tokenizer::files_in(source_model_dir)) {
    const fs::path to = fs::path(dir) / name;
    fs::create_directories(to.parent_path());
    fs::copy_file(fs::path(source_model_dir) / name, to, fs::copy_options::overwrite_existing);
    fs::permissions(to, fs::perms::owner_write, fs::perm_options::add);  // source may be read-only
  }
}

void write_quantized_checkpoint(LlamaModel& model, const std::string& out_dir, c10::ScalarType storage_dtype,
                                const nlohmann::json& quantization_doc, const MethodReport& report,
                                const std::string& source_model_dir, bool overwrite) {
  io::write_directory_atomic(out_dir, overwrite, "--out", [&](const std::string& tmp) {
    save_llama(model, tmp, storage_dtype, {{"quantization", quantization_doc.value("setting", "")}});
    if (!report.qparams.empty()) io::write_safetensors((fs::path(tmp) / kQParamsFile).string(), report.qparams);
    copy_tokenizer_files(source_model_dir, tmp);
    // quantization.json last: a directory that has it is complete.
    io::write_file_atomic((fs::path(tmp) / kQuantizationFile).string(), quantization_doc.dump(2) + "\n");
  });
}

}  // namespace ptq::quant
