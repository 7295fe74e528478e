// config.json of a Llama-family checkpoint (model/llama_config.h): read through the bounded JSON reader
// and validated. A config that is accepted must have sizes within the input limits and shapes that fit
// together (heads divide, positive sizes), because the model is allocated from them next.
#include "harness/model/llama_config.h"
#include "harness/util/input_limits.h"
#include "harness/util/json_text.h"
#include "tests/fuzz/fuzz_support.h"

#include <cstdio>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ptq::LlamaConfig c;
  const auto read = [&] {
    c = ptq::LlamaConfig::from_json(ptq::parse_json_text(ptq::fuzz::as_text(data, size), "config.json", {}), "config.json");
  };
  if (!ptq::fuzz::accepts(read)) return 0;
  using ptq::Limit;
  const bool sane = c.num_hidden_layers >= 1 && c.num_hidden_layers <= ptq::limit_value(Limit::kLayers) &&
                    c.hidden_size >= 1 && c.hidden_size <= ptq::limit_value(Limit::kHiddenSize) &&
                    c.intermediate_size >= 1 && c.intermediate_size <= ptq::limit_value(Limit::kIntermediateSize) &&
                    c.vocab_size >= 1 && c.vocab_size <= ptq::limit_value(Limit::kVocabulary) &&
                    c.num_attention_heads >= 1 && c.num_key_value_heads >= 1 &&
                    c.num_attention_heads % c.num_key_value_heads == 0 && c.head_dim >= 1;
  if (!sane) {
    std::fprintf(stderr, "fuzz_llama_config: accepted layers %lld hidden %lld mlp %lld vocab %lld heads %lld/%lld head_dim %lld\n",
                 (long long)c.num_hidden_layers, (long long)c.hidden_size, (long long)c.intermediate_size,
                 (long long)c.vocab_size, (long long)c.num_attention_heads, (long long)c.num_key_value_heads,
                 (long long)c.head_dim);
    std::abort();
  }
  (void)c.parameter_count();
  (void)c.to_json().dump();
  return 0;
}
