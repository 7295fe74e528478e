#include "harness/ptq/gptq_checkpoint.h"

#include "harness/io/files.h"
#include "harness/io/json_file.h"
#include "harness/model/checkpoint.h"
#include "harness/model/llama_config.h"
#include "harness/quant/gptq_packing.h"
#include "harness/util/errors.h"
#include "harness/util/input_limits.h"
#include "harness/util/text.h"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <filesystem>
#include <map>

namespace fs = std::filesystem;

namespace ptq::quant::gptq {

namespace {

constexpr const char* kPackedParts[] = {"qweight", "qzeros", "scales", "g_idx"};

// Every block linear of the architecture: name (without ".weight") -> {out, in}, for lookups by name.
std::map<std::string, std::vector<int64_t>> linears_of(const LlamaConfig& config) {
  const auto shapes = linear_shapes(config);
  return {shapes.begin(), shapes.end()};
}

InputError bad_key(const std::string& config_path, const std::string& key, const nlohmann::json& value,
                   const std::string& expected) {
  return InputError(fmt::format("{}: quantization_config.{} is {}, expected {}", config_path, key,
                                bounded_excerpt(value.dump()), expected));
}

bool read_bool(const nlohmann::json& q, const std::string& key, bool fallback, const std::string& config_path) {
  if (!q.contains(key) || q[key].is_null()) return fallback;
  if (!q[key].is_boolean()) throw bad_key(config_path, key, q[key], "true or false");
  return q[key].get<bool>();
}

}  // namespace

bool CheckpointConfig::keeps_float(const std::string& linear) const {
  return std::find(modules_to_not_convert.begin(), modules_to_not_convert.end(), linear) != modules_to_not_convert.end();
}

nlohmann::json CheckpointConfig::to_json() const {
  return {{"quant_method", "gptq"}, {"bits", bits},         {"group_size", group_size},
          {"checkpoint_format", format}, {"sym", sym},       {"desc_act", desc_act},
          {"modules_to_not_convert", modules_to_not_convert}};
}

CheckpointConfig parse_checkpoint_config(const nlohmann::json& q, const std::string& config_path) {
  if (!q.is_object()) throw InputError(fmt::format("{}: quantization_config is {}, expected an object", config_path,
                                                   bounded_excerpt(q.dump())));
  const nlohmann::json method = q.value("quant_method", nlohmann::json(nullptr));
  if (method != "gptq")
    throw InputError(fmt::format("{}: quantization_config.quant_method is {}: ptqbench loads unquantized checkpoints "
                                 "and packed GPTQ ones (quant_method \"gptq\") only", config_path,
                                 bounded_excerpt(method.dump())));
  CheckpointConfig c;
  const nlohmann::json bits = q.value("bits", nlohmann::json(nullptr));
  if (!bits.is_number_integer() || !packable_bits(bits.get<int>()))
    throw bad_key(config_path, "bits", bits, "2, 3, 4 or 8 (the widths GPTQ packs)");
  c.bits = bits.get<int>();
  const nlohmann::json group = q.value("group_size", nlohmann::json(-1));
  if (!group.is_number_integer() || (group.get<int64_t>() != -1 && group.get<int64_t>() <= 0))
    throw bad_key(config_path, "group_size", group, "-1 (per output channel) or a positive integer");
  c.group_size = group.get<int64_t>();
  const nlohmann::json format = q.value("checkpoint_format", nlohmann::json("gptq"));
  if (format != "gptq" && format != "gptq_v2")
    throw bad_key(config_path, "checkpoint_format", format, "\"gptq\" or \"gptq_v2\"");
  c.format = format.get<std::string>();
  c.sym = read_bool(q, "sym", true, config_path);
  c.desc_act = read_bool(q, "desc_act", false, config_path);
  const nlohmann::json keep = q.value("modules_to_not_convert", nlohmann::json(nullptr));
  if (!keep.is_null() && !keep.is_array())
    throw bad_key(config_path, "modules_to_not_convert", keep, "a list of linear names, or null");
  for (const auto& m : keep.is_array() ? keep : nlohmann::json::array()) {
    if (!m.is_string()) throw bad_key(config_path, "modules_to_not_convert", m, "a list of linear names (strings)");
    c.modules_to_not_convert.push_back(m.get<std::string>());
  }
  return c;
}

std::optional<CheckpointConfig> read_checkpoint_config(const std::string& config_path) {
  const nlohmann::json j = io::read_json_file(config_path);
  if (!j.is_object() || !j.contains("quantization_config") || j["quantization_config"].is_null()) return std::nullopt;
  return parse_checkpoint_config(j["quantization_config"], config_path);
}

namespace {

struct PackedLinear {
  std::string name;  // "model.layers.0.self_attn.q_proj"
  int64_t out = 0, in = 0, groups = 1;
};

std::string shape_str(const std::vector<int64_t>& s) { return fmt::format("[{}]", fmt::join(s, ", ")); }

// The header checks of one packed linear's four tensors (see add_dequantized_weights).
void check_packed_headers(const io::TensorStore& store, const CheckpointConfig& q, const PackedLinear& l) {
  const std::map<std::string, std::vector<int64_t>> shapes = {
      {"qweight", {l.in * q.bits / 32, l.out}},
      {"qzeros", {l.groups, l.out * q.bits / 32}},
      {"scales", {l.groups, l.out}},
      {"g_idx", {l.in}}};
  for (const char* part : kPackedParts) {
    const std::string name = l.name + "." + part;
    if (!store.contains_stored(name))
      throw InputError(fmt::format("{}: tensor '{}' is missing: a packed GPTQ linear needs qweight, qzeros, scales "
                                   "and g_idx (or list '{}' in quantization_config.modules_to_not_convert with a .weight)",
                                   store.file_of(l.name + ".qweight"), name, l.name));
    const io::TensorInfo& t = store.stored_info(name);
    const bool is_scale = std::string(part) == "scales";
    const bool dtype_ok = is_scale ? io::safetensors_dtype_is_float(t.dtype) && t.dtype != "F64" : t.dtype == "I32";
    if (!dtype_ok)
      throw InputError(fmt::format("{}: tensor '{}' has dtype {}, expected {} (packed GPTQ {})", store.file_of(name), name,
                                   t.dtype, is_scale ? "F16 (or F32, BF16)" : "I32", part));
    if (t.shape != shapes.at(part))
      throw InputError(fmt::format("{}: tensor '{}' has shape {}, expected {} for a [{}, {}] linear at {} bits with {} "
                                   "group(s)", store.file_of(name), name, shape_str(t.shape), shape_str(shapes.at(part)),
                                   l.out, l.in, q.bits, l.groups));
  }
}

// Why linear `l` cannot be a packed linear of this config ("" when it can).
std::string unpackable(const CheckpointConfig& q, const PackedLinear& l, const std::string& config_path) {
  if (q.group_size > 0 && l.in % q.group_size != 0)
    return fmt::format("{}: quantization_config.group_size {} does not divide in_features {} of '{}'", config_path,
                       q.group_size, l.in, l.name);
  for (const auto& [what, n] : {std::pair<const char*, int64_t>{"in_features", l.in}, {"out_features", l.out}})
    if (const std::string why = unpackable_reason(n, q.bits); !why.empty())
      return fmt::format("{}: {} of '{}' cannot be packed at {} bits: {}; such a linear must be listed in "
                         "quantization_config.modules_to_not_convert", config_path, what, l.name, q.bits, why);
  return "";
}

std::vector<int32_t> int32_values(const at::Tensor& t) {
  const at::Tensor c = t.contiguous();
  const int32_t* p = c.data_ptr<int32_t>();
  return std::vector<int32_t>(p, p + c.numel());
}

// g_idx as a long tensor, checked: within [0, groups), and i / group_size unless desc_act.
at::Tensor checked_g_idx(const io::TensorStore& store, const CheckpointConfig& q, const PackedLinear& l) {
  const std::string name = l.name + ".g_idx";
  const at::Tensor g = store.load_stored(name).to(at::kLong);
  const at::Tensor out_of_range = g.lt(0).logical_or(g.ge(l.groups));
  if (out_of_range.any().item<bool>()) {
    const int64_t i = out_of_range.nonzero()[0][0].item<int64_t>();
    throw InputError(fmt::format("{}: tensor '{}' has {} at [{}], expected a group in [0, {}) ({} groups of in_features {})",
                                 store.file_of(name), name, g[i].item<int64_t>(), i, l.groups, l.groups, l.in));
  }
  if (q.desc_act) return g;
  // Without act-order, kernels (ExLlama, Marlin) ignore g_idx and use i / group_size: another g_idx would
  // evaluate a different weight there than here.
  const at::Tensor natural = at::arange(l.in, at::kLong).floor_divide(l.in / l.groups);
  const at::Tensor differs = g.ne(natural);
  if (differs.any().item<bool>()) {
    const int64_t i = differs.nonzero()[0][0].item<int64_t>();
    throw InputError(fmt::format("{}: tensor '{}' has {} at [{}], expected {} (i / group_size): quantization_config.desc_act "
                                 "is false (set it true for an act-order checkpoint)", store.file_of(name), name,
                                 g[i].item<int64_t>(), i, natural[i].item<int64_t>()));
  }
  return g;
}

at::Tensor checked_scales(const io::TensorStore& store, const PackedLinear& l) {
  const std::string name = l.name + ".scales";
  const at::Tensor s = store.load_stored(name).to(at::kFloat);  // F16 and BF16 convert exactly
  // Negative scales are valid (W = s * (q - z) is plain arithmetic): ptqbench's exporter writes a group
  // with a zero point of 0 as (-s) * (q' - qmax) in checkpoint_format gptq (ptq/gptq_export.h).
  const at::Tensor bad = at::logical_not(at::isfinite(s)).logical_or(s.eq(0));
  const int64_t count = bad.sum().item<int64_t>();
  if (count == 0) return s;
  const at::Tensor at_ = bad.nonzero()[0];
  const int64_t r = at_[0].item<int64_t>(), c = at_[1].item<int64_t>();
  throw InputError(fmt::format("{}: tensor '{}' has {} of {} values that are not finite and non-zero (first: {} at [{}, {}]), "
                               "expected finite non-zero scales", store.file_of(name), name, count, s.numel(),
                               s[r][c].item<float>(), r, c));
}

// W[o, i] = scales[g, o] * (q[o, i] - zero[g, o]) with g = g_idx[i], in float32 ([out, in]).
at::Tensor dequantize(const io::TensorStore& store, const CheckpointConfig& q, const PackedLinear& l) {
  const at::Tensor g = checked_g_idx(store, q, l);
  const at::Tensor scales = checked_scales(store, l);
  const std::vector<uint8_t> ints =
      unpack_along_rows(int32_values(store.load_stored(l.name + ".qweight")), l.in, l.out, q.bits);  // [in, out]
  const std::vector<uint8_t> zeros =
      unpack_along_cols(int32_values(store.load_stored(l.name + ".qzeros")), l.groups, l.out, q.bits);  // [groups, out]
  const at::Tensor qi = at::from_blob(const_cast<uint8_t*>(ints.data()), {l.in, l.out}, at::kByte).to(at::kFloat);
  const at::Tensor z = at::from_blob(const_cast<uint8_t*>(zeros.data()), {l.groups, l.out}, at::kByte).to(at::kFloat) +
                       static_cast<float>(q.zero_offset());
  // q - zero is an integer below 2^9 in magnitude: exact; one rounding in the product (none for F16 scales).
  return (scales.index_select(0, g) * (qi - z.index_select(0, g))).t().contiguous();
}

std::vector<PackedLinear> packed_linears(const CheckpointConfig& q, const LlamaConfig& config) {
  std::vector<PackedLinear> out;
  for (const auto& [name, shape] : linears_of(config))
    if (!q.keeps_float(name)) out.push_back({name, shape[0], shape[1], q.groups(shape[1])});
  return out;
}

void check_kept_modules(const io::TensorStore& store, const CheckpointConfig& q, const LlamaConfig& config,
                        const std::string& config_path) {
  const auto linears = linears_of(config);
  std::vector<std::string> names;
  for (const auto& [n, s] : linears) names.push_back(n);
  for (const auto& m : q.modules_to_not_convert) {
    if (m == "lm_head") continue;  // HF configs often list it; ptqbench never quantizes it
    if (!linears.count(m)) {
      const std::string hint = closest_match(m, names);
      throw InputError(fmt::format("{}: quantization_config.modules_to_not_convert names '{}', which is no linear of this "
                                   "model{}", config_path, bounded_excerpt(m),
                                   hint.empty() ? "" : fmt::format(" (did you mean '{}'?)", hint)));
    }
    if (store.contains_stored(m + ".qweight"))
      throw InputError(fmt::format("{}: '{}' is listed in quantization_config.modules_to_not_convert of {}, but is stored "
                                   "packed (tensor '{}.qweight'); expected a floating-point '{}.weight'",
                                   store.file_of(m + ".qweight"), m, config_path, m, m));
  }
}

}  // namespace

void add_dequantized_weights(io::TensorStore& store, const CheckpointConfig& q, const LlamaConfig& config,
                             const std::string& config_path) {
  check_kept_modules(store, q, config, config_path);
  const std::vector<PackedLinear> linears = packed_linears(q, config);
  for (const PackedLinear& l : linears)  // the config's faults first: they explain every shape that follows
    if (const std::string why = unpackable(q, l, config_path); !why.empty()) throw InputError(why);
  for (const PackedLinear& l : linears) {
    if (store.contains_stored(l.name + ".weight"))
      throw InputError(fmt::format("{}: tensor '{}.weight' is a floating-point weight, but '{}' is not in "
                                   "quantization_config.modules_to_not_convert of {}; expected packed qweight, qzeros, "
                                   "scales and g_idx", store.file_of(l.name + ".weight"), l.name, l.name, config_path));
    check_packed_headers(store, q, l);
  }
  for (const PackedLinear& l : linears) {
    io::DerivedTensor d;
    d.info.name = l.name + ".weight";
    d.info.dtype = "F32";
    d.info.shape = {l.out, l.in};
    for (const char* part : kPackedParts) d.sources.push_back(l.name + "." + part);
    d.load = [q, l](const io::TensorStore& s) { return dequantize(s, q, l); };
    store.add_derived(std::move(d));
  }
}

io::TensorStore open_model_store(const std::string& dir) {
  const std::string config_path = model_config_path(dir);
  const std::optional<CheckpointConfig> q = read_checkpoint_config(config_path);  // before the tensors: awq, fp8, ...
  io::TensorStore store = io::TensorStore::open_dir(dir);
  if (q) add_dequantized_weights(store, *q, LlamaConfig::from_file(config_path), config_path);
  return store;
}

nlohmann::json PackedBytes::to_json() const {
  return {{"file_bytes", file_bytes},         {"quantized_linear_bytes", quantized_bytes},
          {"quantized_linear_fp16_bytes", fp16_bytes}, {"percent_of_fp16", percent_of_fp16()},
          {"bits_per_weight", bits_per_weight()}, {"linears_packed", linears_packed},
          {"linears_kept_in_floating_point", linears_kept}};
}

PackedBytes packed_bytes(const io::TensorStore& store, const CheckpointConfig& q, const LlamaConfig& config) {
  PackedBytes b;
  for (const auto& f : store.files()) {
    std::error_code ec;
    const auto size = fs::file_size(f->path(), ec);
    b.file_bytes += ec ? 0 : size;
  }
  for (const auto& [name, shape] : linears_of(config)) {
    if (q.keeps_float(name)) {
      ++b.linears_kept;
      continue;
    }
    ++b.linears_packed;
    b.weights += shape[0] * shape[1];
    b.fp16_bytes += static_cast<uint64_t>(shape[0] * shape[1] * 2);
    for (const char* part : kPackedParts)
      if (store.contains_stored(name + "." + part)) b.quantized_bytes += store.stored_info(name + "." + part).nbytes();
  }
  return b;
}

}  // namespace ptq::quant::gptq
