#include "harness/ptq/gptq_export.h"

#include "harness/io/files.h"
#include "harness/io/safetensors.h"
#include "harness/model/checkpoint.h"
#include "harness/model/llama_model.h"
#include "harness/ptq/linear_grid.h"
#include "harness/ptq/quantized_checkpoint.h"
#include "harness/quant/gptq_packing.h"
#include "harness/util/runtime.h"
#include "harness/util/errors.h"
#include "harness/util/text.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <filesystem>
#include <map>
#include <memory>
#include <set>

namespace fs = std::filesystem;

namespace ptq::quant {

namespace {

using Named = std::vector<std::pair<std::string, at::Tensor>>;

struct LinearShape {
  std::string name;  // "model.layers.<i>.self_attn.q_proj"
  int64_t out = 0, in = 0;
};

// What is packed, decided from the grids alone before anything is written.
struct Plan {
  int bits = 0;
  std::map<std::string, LinearGrid> grids;  // the packed linears only
  GptqExport report;
};

// A packed linear's zero points must be b-bit unsigned integers, its scales finite in float16.
void check_grid(const LinearShape& l, const LinearGrid& g, int bits, int64_t groups) {
  const std::vector<int64_t> want = {l.out, groups};
  if (!g.scale.defined() || !g.zero.defined() || g.scale.sizes().vec() != want || g.zero.sizes().vec() != want)
    throw InputError(fmt::format("{}: its scales and zero points are not [{}, {}] (the method's quantizer parameters "
                                 "do not match the setting)", l.name, l.out, groups));
  const double qmax = std::ldexp(1.0, bits) - 1;
  const at::Tensor outside = g.zero.lt(0).logical_or(g.zero.gt(qmax)).logical_or(g.zero.ne(at::round(g.zero)));
  if (outside.any().item<bool>()) {
    const int64_t i = at::argmax(outside.to(at::kInt)).item<int64_t>();
    throw InputError(fmt::format("{}: zero point {} at [row {}, group {}] is outside [0, {}], which {}-bit qzeros cannot "
                                 "hold (learnable clipping can move a range off zero); this result cannot be written "
                                 "in the GPTQ format", l.name, g.zero.reshape(-1)[i].item<double>(), i / groups,
                                 i % groups, static_cast<int64_t>(qmax), bits));
  }
  const at::Tensor s16 = g.scale.to(at::kHalf).to(at::kFloat);
  if (!at::isfinite(s16).all().item<bool>() || !s16.gt(0).all().item<bool>())
    throw InputError(fmt::format("{}: a scale ({:.6g} .. {:.6g}) is not a positive finite float16", l.name,
                                 g.scale.min().item<double>(), g.scale.max().item<double>()));
}

// checkpoint_format gptq stores zero - 1, so a zero point of 0 has no code. Such a group is written exactly
// with its scale negated: W = s * q = (-s) * ((qmax - q) - qmax), i.e. q' = qmax - q and zero' = qmax, all
// in range - where GPTQModel's v2 -> v1 conversion (subtracting 1 from the packed words) would borrow from
// the neighbouring zero point. gptq_v2 stores the zero points as they are.
void decide_format(Plan& plan, const std::string& requested, int64_t groups_with_zero_0, const std::string& first) {
  GptqExport& r = plan.report;
  r.checkpoint_format = requested;
  r.groups_negated = requested == "gptq" ? groups_with_zero_0 : 0;
  if (r.groups_negated > 0)
    r.notes.push_back(fmt::format("{} group(s) have a zero point of 0 (first in {}), which checkpoint_format gptq stores as "
                                  "zero - 1 and cannot hold: written exactly with the scale negated and q' = 2^b - 1 - q "
                                  "(--checkpoint-format gptq_v2 keeps positive scales)", groups_with_zero_0, first));
}

Plan plan_export(const LlamaConfig& config, const Named& qparams, const QuantSetting& setting,
                 const GptqExportOptions& options) {
  Plan plan;
  plan.bits = setting.wbits;
  const auto grids = linear_grids(qparams);
  bool all_gptq_sym = true;
  int64_t groups_with_zero_0 = 0;
  std::string first_zero_0;
  for (const auto& [name, shape] : linear_shapes(config)) {
    const LinearShape l{name, shape[0], shape[1]};
    const auto it = grids.find(l.name);
    std::string why = it == grids.end() ? "the method reported no scales and zero points for it" : "";
    if (why.empty() && !gptq::unpackable_reason(l.in, plan.bits).empty())
      why = "input width " + gptq::unpackable_reason(l.in, plan.bits);
    if (why.empty() && !gptq::unpackable_reason(l.out, plan.bits).empty())
      why = "output width " + gptq::unpackable_reason(l.out, plan.bits);
    if (!why.empty()) {
      plan.report.kept_float.push_back(l.name + ": " + why);
      continue;
    }
    const int64_t groups = setting.group_size > 0 ? l.in / setting.group_size : 1;
    check_grid(l, it->second, plan.bits, groups);
    plan.grids[l.name] = it->second;
    const int64_t zeros_0 = it->second.zero.eq(0).sum().item<int64_t>();
    if (groups_with_zero_0 == 0 && zeros_0 > 0) first_zero_0 = l.name;
    groups_with_zero_0 += zeros_0;
    all_gptq_sym = all_gptq_sym && it->second.zero.eq(std::ldexp(1.0, plan.bits - 1)).all().item<bool>();
    const at::Tensor s = it->second.scale;
    plan.report.max_scale_change = std::max(plan.report.max_scale_change,
                                            ((s.to(at::kHalf).to(at::kFloat) - s) / s).abs().max().item<double>());
    const at::Tensor cols = column_groups(it->second, l.in);
    if (it->second.g_idx.defined() && !cols.equal(column_groups(LinearGrid{s, it->second.zero, {}}, l.in)))
      plan.report.desc_act = true;
  }
  if (plan.grids.empty())
    throw InputError(fmt::format("nothing to pack at {}: no linear of this model packs ({})", setting.str(),
                                 plan.report.kept_float.empty() ? "none" : plan.report.kept_float.front()));
  plan.report.linears_packed = static_cast<int64_t>(plan.grids.size());
  plan.report.sym = all_gptq_sym;
  decide_format(plan, options.checkpoint_format, groups_with_zero_0, first_zero_0);
  return plan;
}

std::vector<uint8_t> to_bytes(const at::Tensor& t) {
  const at::Tensor c = t.to(at::kByte).contiguous();
  return {c.data_ptr<uint8_t>(), c.data_ptr<uint8_t>() + c.numel()};
}

at::Tensor from_words(std::vector<int32_t> words, int64_t rows, int64_t cols) {
  return at::from_blob(words.data(), {rows, cols}, at::kInt).clone();
}

// The packed tensors of one linear: "qweight", "qzeros", "scales", "g_idx". In checkpoint_format gptq
// (`v1`) a group with zero point 0 is written negated (decide_format).
std::map<std::string, at::Tensor> pack_linear(const at::Tensor& weight, const LinearGrid& grid, int bits, bool v1,
                                              c10::ScalarType source_dtype, const std::string& name) {
  const int64_t out = weight.size(0), in = weight.size(1), groups = grid.scale.size(1);
  at::Tensor q = grid_integers(weight, grid, bits, source_dtype, name);
  at::Tensor zero = grid.zero, scale = grid.scale;
  if (v1) {
    const double qmax = std::ldexp(1.0, bits) - 1;
    const at::Tensor negate = zero.eq(0);  // [out, groups]
    const at::Tensor negate_cols = negate.index_select(1, column_groups(grid, in));
    q = at::where(negate_cols, qmax - q, q);
    zero = at::where(negate, at::full_like(zero, qmax), zero) - 1;  // stored as zero - 1
    scale = at::where(negate, -scale, scale);
  }
  return {{"qweight", from_words(gptq::pack_along_rows(to_bytes(q.t()), in, out, bits), gptq::packed_words(in, bits), out)},
          {"qzeros", from_words(gptq::pack_along_cols(to_bytes(zero.t()), groups, out, bits), groups,
                                gptq::packed_words(out, bits))},
          {"scales", scale.t().contiguous().to(at::kHalf)},
          {"g_idx", column_groups(grid, in).to(at::kInt)}};
}

// The tensors of one block at a time: model.safetensors is written in name order within each element size,
// so each block is read (and its linears packed) once per element size.
class BlockPacker {
 public:
  BlockPacker(LlamaModel& model, const Plan& plan, const GptqExportOptions& options)
      : model_(model), plan_(plan), options_(options) {}

  at::Tensor get(size_t block, const std::string& suffix) {
    if (block != index_) load(block);
    const auto it = tensors_.find(suffix);
    if (it == tensors_.end()) throw std::logic_error(fmt::format("gptq export: block {} has no {}", block, suffix));
    return it->second;
  }

 private:
  void load(size_t i) {
    tensors_.clear();
    DecoderBlock b = model_.block(i);
    for (auto& [suffix, t] : b.named_tensors())
      if (t->defined()) tensors_[suffix] = t->detach().to(at::kCPU);
    const std::string prefix = fmt::format("model.layers.{}.", i);
    for (size_t k = 0; k < DecoderBlock::kLinearNames.size(); ++k) {
      const std::string linear = DecoderBlock::kLinearNames[k];
      const auto grid = plan_.grids.find(prefix + linear);
      if (grid == plan_.grids.end()) continue;
      const bool v1 = plan_.report.checkpoint_format == "gptq";
      for (auto& [part, t] : pack_linear(tensors_.at(linear + ".weight"), grid->second, plan_.bits, v1,
                                         options_.source_dtype, prefix + linear))
        tensors_[linear + "." + part] = t;
    }
    index_ = i;
  }

  LlamaModel& model_;
  const Plan& plan_;
  const GptqExportOptions& options_;
  size_t index_ = static_cast<size_t>(-1);
  std::map<std::string, at::Tensor> tensors_;
};

std::vector<io::LazyTensor> packed_tensor_list(LlamaModel& model, const Plan& plan, const GptqExportOptions& options) {
  auto packer = std::make_shared<BlockPacker>(model, plan, options);
  std::map<std::string, at::Tensor*> outside_blocks;
  for (auto& [name, slot] : model.named_tensors())
    if (name.rfind("model.layers.", 0) != 0) outside_blocks[name] = slot;
  std::vector<io::LazyTensor> list;
  const auto add = [&](const std::string& name, c10::ScalarType dtype, std::vector<int64_t> shape) {
    if (name.rfind("model.layers.", 0) != 0) {
      at::Tensor* slot = outside_blocks.at(name);
      list.push_back({name, dtype, shape, [slot, dtype] { return slot->to(at::kCPU, dtype); }});
      return;
    }
    const size_t dot = name.find('.', 13);
    const size_t block = std::stoul(name.substr(13, dot - 13));
    list.push_back({name, dtype, shape, [packer, block, suffix = name.substr(dot + 1), dtype] {
                      return packer->get(block, suffix).to(dtype);
                    }});
  };
  for (const auto& [name, shape] : expected_tensors(model.config())) {
    if (ends_with(name, kActClipTensor)) continue;  // weight-only: no activation clipping
    const std::string linear = ends_with(name, ".weight") ? name.substr(0, name.size() - 7) : "";
    const auto grid = plan.grids.find(linear);
    if (grid == plan.grids.end()) {
      add(name, options.dtype, shape);
      continue;
    }
    const int64_t out = shape[0], in = shape[1], groups = grid->second.scale.size(1);
    add(linear + ".qweight", at::kInt, {gptq::packed_words(in, plan.bits), out});
    add(linear + ".qzeros", at::kInt, {groups, gptq::packed_words(out, plan.bits)});
    add(linear + ".scales", at::kHalf, {groups, out});
    add(linear + ".g_idx", at::kInt, {in});
  }
  return list;
}

nlohmann::json quantization_config(const Plan& plan, const QuantSetting& setting, const std::string& method) {
  std::vector<std::string> not_converted;
  for (const std::string& k : plan.report.kept_float) not_converted.push_back(k.substr(0, k.find(':')));
  return {{"quant_method", "gptq"},
          {"bits", plan.bits},
          {"group_size", setting.group_size > 0 ? setting.group_size : -1},
          {"desc_act", plan.report.desc_act},
          {"sym", plan.report.sym},
          {"static_groups", false},
          {"true_sequential", true},
          {"checkpoint_format", plan.report.checkpoint_format},
          {"modules_to_not_convert", not_converted},
          {"model_file_base_name", "model"},
          {"meta", {{"quantizer", {fmt::format("ptqbench:{}", harness_version())}}, {"method", method},
                    {"setting", setting.str()}}}};
}

// Notes on what the format does not carry or carries differently; one line each.
void add_notes(Plan& plan, const QuantSetting& setting, const nlohmann::json& config) {
  auto& notes = plan.report.notes;
  if (setting.weight_symmetric && !plan.report.sym)
    notes.push_back(fmt::format("symmetric zero point {} (OmniQuant's 2^(b-1) - 1) is not the GPTQ kernels' fixed {}: "
                                "written with sym false and explicit qzeros", (1 << (plan.bits - 1)) - 1, 1 << (plan.bits - 1)));
  for (const std::string& k : plan.report.kept_float)
    notes.push_back("kept in floating point (its quantized values, unpacked; listed in modules_to_not_convert): " + k);
  for (const auto& [key, value] : config.items())
    if (key.rfind("ptqbench_", 0) == 0 && value == true)
      notes.push_back(fmt::format("config.json's {} (LET's folded shifts where the model class has no bias): ptqbench "
                                  "loads these tensors, transformers and vLLM drop them", key));
  if (plan.report.max_scale_change > 0)
    notes.push_back(fmt::format("scales stored in float16: largest relative change {:.3g} (quantize --fp16-scales makes "
                                "the fake-quant checkpoint use the same scales)", plan.report.max_scale_change));
}

}  // namespace

void check_gptq_exportable(const QuantSetting& setting, const std::string& what) {
  if (setting.abits < 16 || setting.kv_bits < 16)
    throw InputError(fmt::format("{}: {} quantizes activations, which the GPTQ format cannot represent (it stores "
                                 "weights only); export a weight-only setting (W2/W3/W4/W8 A16)", what, setting.str()));
  if (setting.wbits >= 16) throw InputError(fmt::format("{}: {} quantizes no weights: nothing to pack", what, setting.str()));
  if (!gptq::packable_bits(setting.wbits))
    throw InputError(fmt::format("{}: {} has {}-bit weights; the GPTQ format packs 2, 3, 4 or 8 bits", what,
                                 setting.str(), setting.wbits));
}

void check_gptq_checkpoint_format(const std::string& value) {
  if (value != "gptq" && value != "gptq_v2")
    throw InputError(fmt::format("--checkpoint-format {}: expected gptq or gptq_v2", value));
}

nlohmann::json GptqExport::to_json() const {
  return {{"checkpoint_format", checkpoint_format}, {"sym", sym}, {"desc_act", desc_act}, {"groups_negated", groups_negated},
          {"linears_packed", linears_packed}, {"kept_float", kept_float}, {"notes", notes},
          {"max_scale_change_fp16", max_scale_change}};
}

GptqExport write_gptq_checkpoint(LlamaModel& model, const Named& qparams, const QuantSetting& setting,
                                 const nlohmann::json& quantization_doc, const std::string& source_model_dir,
                                 const std::string& out_dir, const GptqExportOptions& options) {
  check_gptq_exportable(setting, out_dir);
  check_gptq_checkpoint_format(options.checkpoint_format);
  Plan plan = plan_export(model.config(), qparams, setting, options);
  nlohmann::json config = model.config().to_json();
  config.erase("ptqbench_act_clip");
  add_notes(plan, setting, config);
  config["torch_dtype"] = options.dtype == at::kFloat ? "float32" : options.dtype == at::kBFloat16 ? "bfloat16" : "float16";
  config["quantization_config"] = quantization_config(plan, setting, quantization_doc.value("method", "?"));
  nlohmann::json doc = quantization_doc;
  doc["format"] = "gptq";
  doc["weights"] = "packed GPTQ tensors in model.safetensors (see config.json quantization_config)";
  doc["packing"] = plan.report.to_json();
  io::write_directory_atomic(out_dir, options.overwrite, options.out_option, [&](const std::string& tmp) {
    io::write_safetensors_lazy((fs::path(tmp) / "model.safetensors").string(), packed_tensor_list(model, plan, options),
                               {{"quantization", setting.str()}});
    io::write_file_atomic((fs::path(tmp) / "config.json").string(), config.dump(2) + "\n");
    io::write_file_atomic((fs::path(tmp) / "quantize_config.json").string(), config["quantization_config"].dump(2) + "\n");
    copy_tokenizer_files(source_model_dir, tmp);
    io::write_file_atomic((fs::path(tmp) / kQuantizationFile).string(), doc.dump(2) + "\n");  // last: complete
  });
  return plan.report;
}

void round_scales_to_fp16(LlamaModel& model, Named& qparams, const QuantSetting& setting) {
  std::map<std::string, LinearGrid> grids = linear_grids(qparams);
  for (size_t i = 0; i < model.num_blocks(); ++i) {
    DecoderBlock b = model.block(i);
    bool changed = false;
    for (size_t k = 0; k < DecoderBlock::kLinearNames.size(); ++k) {
      const std::string name = fmt::format("model.layers.{}.{}", i, DecoderBlock::kLinearNames[k]);
      const auto it = grids.find(name);
      if (it == grids.end()) continue;
      Linear& linear = *b.linears()[k];
      const at::Tensor q = grid_integers(linear.weight, it->second, setting.wbits, linear.weight.scalar_type(), name);
      it->second.scale = it->second.scale.to(at::kHalf).to(at::kFloat);
      linear.weight = dequantize_grid(q, it->second).to(linear.weight.device(), linear.weight.scalar_type());
      changed = true;
    }
    if (changed) model.set_block(i, std::move(b));
  }
  for (auto& [name, t] : qparams)
    if (ends_with(name, ".weight_scale")) t = grids.at(name.substr(0, name.size() - 13)).scale.to(t.device(), t.scalar_type());
}

}  // namespace ptq::quant
