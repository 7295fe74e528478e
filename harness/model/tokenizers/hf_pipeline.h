// The text stages of a tokenizer.json, built from its "normalizer", "pre_tokenizer" and "decoder"
// objects: each a chain of the components the Llama / Mistral / Qwen files use, with the Rust library's
// semantics. Unknown component types are refused (InputError naming the file, the key and the type).
#pragma once

#include "harness/model/tokenizers/regex_splitter.h"

#include <nlohmann/json_fwd.hpp>

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace ptq::tok {

using Normalizer = std::function<std::string(std::string_view)>;

// A pre-token: its text and the byte offset of the input segment it came from (Metaspace's
// prepend_scheme "first" prepends only to the segment that starts the input).
struct PreToken {
  std::string text;
  size_t segment_offset = 0;
};
using PreTokenizer = std::function<void(std::vector<PreToken>&)>;
using Decoder = std::function<void(std::vector<std::string>&)>;

struct HfPipeline {
  Normalizer normalize;       // identity when the file has none
  PreTokenizer pre_tokenize;  // no-op when the file has none
  Decoder decode;             // joins the tokens when the file has none
  bool byte_level = false;    // a ByteLevel pre-tokenizer maps bytes to GPT-2's characters
};

HfPipeline build_hf_pipeline(const nlohmann::json& tokenizer_json, const std::string& source);

}  // namespace ptq::tok
