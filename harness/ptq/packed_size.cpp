#include "harness/ptq/packed_size.h"

#include "harness/model/checkpoint.h"
#include "harness/model/llama_config.h"
#include "harness/ptq/quant_setting.h"
#include "harness/quant/gptq_packing.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace ptq::quant {

namespace {

constexpr int64_t kHalf = 2;  // bytes of a float16 (and of a bfloat16: the same size)

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

int64_t numel(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (const int64_t d : shape) n *= d;
  return n;
}

// Bytes of one quantized [out, in] linear without its bias: the packed GPTQ tensors, or for bits without a
// packed layout the theoretical b-bit integers, float16 scales and b-bit zero points (rounded up to bytes).
int64_t quantized_linear_bytes(int64_t out, int64_t in, int64_t groups, int bits, bool packable) {
  if (packable) {
    const int64_t qweight = gptq::packed_words(in, bits) * out * 4;
    const int64_t qzeros = groups * gptq::packed_words(out, bits) * 4;
    const int64_t scales = groups * out * kHalf;
    const int64_t g_idx = in * 4;
    return qweight + qzeros + scales + g_idx;
  }
  const int64_t bits_total = int64_t{bits} * in * out + groups * out * (16 + bits);
  return (bits_total + 7) / 8;
}

// Why a linear of this shape stays in float16 at `bits` (its in width for qweight, its out width for
// qzeros), or "" when it packs.
std::string unpacked_width(int64_t out, int64_t in, int bits) {
  if (!gptq::packs_evenly(in, bits)) return "in_features " + gptq::unpackable_reason(in, bits);
  if (!gptq::packs_evenly(out, bits)) return "out_features " + gptq::unpackable_reason(out, bits);
  return "";
}

void finish(PackedSize& s) {
  const int64_t float_weights = s.linear_weights - s.quantized_weights;
  if (s.quantized_weights > 0) s.bits_per_weight = 8.0 * static_cast<double>(s.quantized_bytes) / s.quantized_weights;
  if (s.linear_weights > 0)
    s.effective_bits_per_weight =
        (8.0 * static_cast<double>(s.quantized_bytes) + 16.0 * static_cast<double>(float_weights)) / s.linear_weights;
}

}  // namespace

PackedSize packed_size(const LlamaConfig& config, const QuantSetting& setting) {
  setting.validate_for(config);
  PackedSize s;
  const int bits = setting.wbits;
  s.quantized = bits < 16;
  s.packable = s.quantized && gptq::packable_bits(bits);
  std::string first_unpacked;  // the first width that did not pack, for the note
  for (const auto& [name, shape] : expected_tensors(config)) {
    const int64_t fp16 = numel(shape) * kHalf;
    s.fp16_total_bytes += fp16;
    if (!ends_with(name, "_proj.weight")) {  // embeddings, norms, lm_head, biases: float16
      s.total_bytes += fp16;
      continue;
    }
    const int64_t out = shape[0], in = shape[1];
    s.linear_weights += out * in;
    const std::string linear = name.substr(0, name.size() - std::string(".weight").size());
    const std::string why = s.packable ? unpacked_width(out, in, bits) : "";
    if (!s.quantized || !why.empty()) {
      if (s.quantized) s.float_linears.push_back(linear);
      if (first_unpacked.empty()) first_unpacked = why;
      s.total_bytes += fp16;
      continue;
    }
    const int64_t groups = setting.group_size > 0 ? in / setting.group_size : 1;
    const int64_t bytes = quantized_linear_bytes(out, in, groups, bits, s.packable);
    s.quantized_bytes += bytes;
    s.quantized_fp16_bytes += fp16;
    s.quantized_weights += out * in;
    s.total_bytes += bytes;
  }
  if (s.quantized && !s.packable)
    s.note = fmt::format("theoretical size: {}-bit weights have no GPTQ packed layout (2, 3, 4 or 8 bits)", bits);
  else if (!s.float_linears.empty())
    s.note = fmt::format("{} linear(s) kept in float16 ({})", s.float_linears.size(), first_unpacked);
  finish(s);
  return s;
}

nlohmann::json PackedSize::to_json() const {
  const char* kind = !quantized ? "float16" : packable ? "gptq_packed" : "theoretical";
  return {{"bits_per_weight", bits_per_weight},
          {"effective_bits_per_weight", effective_bits_per_weight},
          {"packed_bytes", total_bytes},
          {"fp16_bytes", fp16_total_bytes},
          {"quantized_linear_bytes", quantized_bytes},
          {"quantized_linear_fp16_bytes", quantized_fp16_bytes},
          {"packable", packable},
          {"size_kind", kind},
          {"float_linears", float_linears},
          {"note", note}};
}

nlohmann::json packed_size_json(const LlamaConfig& config, const QuantSetting& setting) {
  return packed_size(config, setting).to_json();
}

}  // namespace ptq::quant
