// A small sentencepiece model trained by the test itself (through the shim's trainer), so tokenizer
// and text-task tests need no downloaded files.
#pragma once

#include <string>

namespace ptq::test {

// Deterministic English-like text: `n_lines` lines of short sentences from a fixed word list.
std::string synthetic_text(int n_lines, uint32_t seed);
// Trains a BPE model like Llama's (vocab 400, byte fallback, identity normalisation, extra whitespace kept,
// <unk>=0 <s>=1 </s>=2) into dir; returns the .model path.
std::string train_test_tokenizer(const std::string& dir);

}  // namespace ptq::test
