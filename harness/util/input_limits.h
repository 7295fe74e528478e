// Input limits, declared once (issue #29). Every number that comes from a file or the command line and
// sizes memory, threads or work is checked against one of these where it enters, so that a hostile or
// mistyped value (`num_hidden_layers: 1000000000`, `--threads 100000`, a JSON value nested 100 000 deep)
// gets one line naming the file/key, the value and the limit, instead of a crash, a hang or bad_alloc.
//
// The defaults are far above every released Llama-family model (Llama-3.1-405B: 126 layers, hidden 16384,
// intermediate 53248, vocabulary 128256). Limits a real model could need more of can be raised with an
// environment variable, PTQBENCH_MAX_<NAME> (e.g. PTQBENCH_MAX_LAYERS=2048); the table in docs/limits.md
// lists them all. Format limits (the safetensors header size) cannot be raised.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ptq {

enum class Limit {
  kJsonDepth,               // nesting depth of any JSON document ptqbench reads
  kSafetensorsHeaderBytes,  // the format's own limit (100 MB); not overridable
  kSafetensorsTensors,      // tensors in one safetensors file
  kLayers,                  // num_hidden_layers
  kHiddenSize,              // hidden_size
  kIntermediateSize,        // intermediate_size
  kAttentionHeads,          // num_attention_heads / num_key_value_heads
  kVocabulary,              // vocab_size and tokenizer pieces
  kContextLength,           // max_position_embeddings, sequence lengths, windows
  kThreads,                 // --threads, spec "threads"
  kCalibrationSamples,      // calibration n
  kCalibrationTokens,       // calibration n x seqlen (activations held per block scale with it)
  kNameLength,              // experiment, method, setting and model names (they become file names)
  kMessageValueChars,       // how much of an offending value an error message echoes
};

struct InputLimitInfo {
  Limit limit;
  const char* name;         // "layers": the environment override is PTQBENCH_MAX_LAYERS
  const char* what;         // "transformer layers (num_hidden_layers)"
  int64_t default_value;
  bool overridable;
};

// Every limit, in declaration order (`ptqbench ls limits` prints it; docs/limits.md shows that output).
const std::vector<InputLimitInfo>& input_limits();
// "PTQBENCH_MAX_LAYERS" for the limit named "layers".
std::string limit_env_var(const InputLimitInfo& info);
// The limit in force: the default, or PTQBENCH_MAX_<NAME> when set (an unparsable or non-positive
// override is itself an InputError naming the variable).
int64_t limit_value(Limit limit);
// Throws InputError "<where>: <value> exceeds the limit of <L> <what> (PTQBENCH_MAX_<NAME> raises it)"
// when value > limit, and "<where>: <value> is not positive" when value < 1 (callers handle their own
// special values first, e.g. --threads 0 meaning all cores).
// `where` names the file and key or the option, e.g. "config.json: num_hidden_layers" or "--threads".
void check_limit(Limit limit, int64_t value, std::string_view where);
// Echo of a user value in a message: at most limit_value(kMessageValueChars) bytes, cut at a UTF-8
// boundary, with "… (N bytes)" appended when cut, and control characters escaped.
std::string bounded_excerpt(std::string_view value);

}  // namespace ptq
