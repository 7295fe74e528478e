// Meta's tiktoken tokenizer.model of Llama-3 / 3.1 / 3.2 / 3.3 (the `original/` folder of the HF
// repositories): one "base64(token bytes) rank" line per mergeable rank, with the split pattern and the
// 256 special tokens that Meta's llama/tokenizer.py defines in code. Byte-pair merging follows tiktoken
// (the lowest-rank adjacent pair of byte strings merges first).
//
// Special-token strings in the text are matched as special tokens, as the Hugging Face tokenizer.json of
// the same models does, so that both files of one model give the same ids. (Meta's tokenizer.py passes
// disallowed_special=() and allowed_special=set() by default, which encodes them as plain text.)
// tokenizer(text) adds <|begin_of_text|>, as Meta's encode(bos=True) and the HF template do.
// Special-token names: Llama-3.0's list by default; a tokenizer_config.json beside the file (or one
// folder up, for original/tokenizer.model) with added_tokens_decoder overrides them (Llama-3.1 renamed
// some reserved tokens).
#pragma once

#include "harness/model/tokenizers/backend.h"

#include <string>

namespace ptq::tok {

// True when the file's first line looks like "<base64> <integer>" (and not like a sentencepiece protobuf).
bool looks_like_tiktoken(const std::string& path);
LoadedTokenizer load_tiktoken_llama3(const std::string& model_path, const std::string& config_path);

}  // namespace ptq::tok
