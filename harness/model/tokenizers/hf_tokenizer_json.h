// Hugging Face tokenizer.json files with a BPE model: the byte-level BPE of Llama-3 and Qwen2/2.5/3
// (regex Split + ByteLevel pre-tokenizers, NFC normalizer, ignore_merges) and the SentencePiece-style BPE
// of Llama-2 / Mistral fast tokenizers (Prepend + Replace normalizers or a Metaspace pre-tokenizer, byte
// fallback, fused unknowns). Semantics are those of the Rust `tokenizers` library that transformers
// calls: added tokens first (on the raw text; `normalized` ones on the normalized text), then
// normalizer, pre-tokenizer, model; the post-processor's template (or tokenizer_config.json's
// add_bos_token / add_eos_token for Llama tokenizers, as transformers' LlamaTokenizerFast applies them)
// says what tokenizer(text) adds. A component the harness does not implement is refused, naming the
// file, the key and the component type.
#pragma once

#include "harness/model/tokenizers/backend.h"

#include <string>

namespace ptq::tok {

// `config_path`: the tokenizer_config.json beside it, or "" when there is none.
LoadedTokenizer load_hf_tokenizer_json(const std::string& json_path, const std::string& config_path);

}  // namespace ptq::tok
