# The harness sources the fuzz targets compile (all LibTorch-free: tests/layering checks it), and the
# targets (tests/fuzz/<target>.cpp, one reader each). scripts/fuzz reads the target list from here.
set(PTQ_FUZZED_SOURCES
  harness/util/text.cpp harness/util/utf8.cpp harness/util/input_limits.cpp harness/util/json_text.cpp harness/util/strict_json.cpp
  harness/io/files.cpp harness/io/json_file.cpp harness/io/jsonl.cpp harness/io/sha256.cpp harness/io/safetensors_header.cpp
  harness/model/llama_config.cpp harness/data/text_sources.cpp
  harness/model/tokenizers/unicode_text.cpp harness/model/tokenizers/regex_splitter.cpp
  harness/model/tokenizers/bpe_model.cpp harness/model/tokenizers/added_tokens.cpp
  harness/model/tokenizers/hf_pipeline.cpp harness/model/tokenizers/hf_tokenizer_json.cpp
  harness/model/tokenizers/tiktoken_llama3.cpp
  harness/ptq/setting_notation.cpp
  evaluators/zeroshot/tasks.cpp evaluators/zeroshot/task_loaders.cpp)
set(PTQ_FUZZ_TARGETS
  fuzz_setting
  fuzz_hf_tokenizer
  fuzz_tiktoken
  fuzz_task_files
  fuzz_utf8
  fuzz_json_text
  fuzz_llama_config
  fuzz_safetensors_header)
