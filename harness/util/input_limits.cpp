#include "harness/util/input_limits.h"

#include "harness/util/errors.h"

#include <fmt/format.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>

namespace ptq {

const std::vector<InputLimitInfo>& input_limits() {
  static const std::vector<InputLimitInfo> table = {
      {Limit::kJsonDepth, "json_depth", "levels of JSON nesting", 64, true},
      {Limit::kSafetensorsHeaderBytes, "safetensors_header_bytes", "bytes of safetensors header (the format's limit)",
       100'000'000, false},
      {Limit::kSafetensorsTensors, "safetensors_tensors", "tensors in one safetensors file", 1'000'000, true},
      {Limit::kLayers, "layers", "transformer layers (num_hidden_layers)", 1024, true},
      {Limit::kHiddenSize, "hidden_size", "hidden size (hidden_size)", 65'536, true},
      {Limit::kIntermediateSize, "intermediate_size", "MLP width (intermediate_size)", 262'144, true},
      {Limit::kAttentionHeads, "heads", "attention heads", 1024, true},
      {Limit::kVocabulary, "vocabulary", "vocabulary entries", 1'048'576, true},
      {Limit::kContextLength, "context", "tokens of context (sequence length)", 1'048'576, true},
      {Limit::kThreads, "threads", "threads", 1024, true},
      {Limit::kCalibrationSamples, "calibration_samples", "calibration samples", 1'000'000, true},
      {Limit::kCalibrationTokens, "calibration_tokens", "calibration tokens (n x seqlen)", 16'777'216, true},
      {Limit::kNameLength, "name_length", "characters in a name", 200, false},
      {Limit::kMessageValueChars, "message_value_chars", "characters of a value echoed in a message", 120, false},
  };
  return table;
}

namespace {

const InputLimitInfo& info_of(Limit limit) {
  for (const auto& row : input_limits())
    if (row.limit == limit) return row;
  throw std::logic_error("input_limits: a Limit without a table row");
}

}  // namespace

std::string limit_env_var(const InputLimitInfo& info) {
  std::string name = "PTQBENCH_MAX_";
  for (const char* p = info.name; *p; ++p) name += static_cast<char>(std::toupper(static_cast<unsigned char>(*p)));
  return name;
}

int64_t limit_value(Limit limit) {
  const InputLimitInfo& info = info_of(limit);
  if (!info.overridable) return info.default_value;
  const std::string var = limit_env_var(info);
  const char* text = std::getenv(var.c_str());
  if (text == nullptr || *text == '\0') return info.default_value;
  errno = 0;
  char* end = nullptr;
  const long long v = std::strtoll(text, &end, 10);
  if (errno != 0 || *end != '\0' || v < 1)
    throw InputError(fmt::format("environment: {}={} is not a positive integer", var, bounded_excerpt(text)));
  return v;
}

void check_limit(Limit limit, int64_t value, std::string_view where) {
  const InputLimitInfo& info = info_of(limit);
  if (value < 1) throw InputError(fmt::format("{}: {} is not positive, expected 1 to {} {}", where, value,
                                              limit_value(limit), info.what));
  const int64_t max = limit_value(limit);
  if (value <= max) return;
  if (info.overridable)
    throw InputError(fmt::format("{}: {} exceeds the limit of {} {} ({} raises it)", where, value, max, info.what,
                                 limit_env_var(info)));
  throw InputError(fmt::format("{}: {} exceeds the limit of {} {}", where, value, max, info.what));
}

std::string bounded_excerpt(std::string_view value) {
  const size_t max = static_cast<size_t>(info_of(Limit::kMessageValueChars).default_value);
  size_t cut = value.size() <= max ? value.size() : max;
  while (cut > 0 && cut < value.size() && (static_cast<unsigned char>(value[cut]) & 0xC0) == 0x80) --cut;
  std::string out;
  for (size_t i = 0; i < cut; ++i) {
    const unsigned char c = static_cast<unsigned char>(value[i]);
    if (c < 0x20 || c == 0x7F) out += fmt::format("\\x{:02x}", c);
    else out += static_cast<char>(c);
  }
  if (cut < value.size()) out += fmt::format("… ({} bytes)", value.size());
  return out;
}

}  // namespace ptq
