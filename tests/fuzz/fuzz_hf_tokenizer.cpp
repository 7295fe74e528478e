// Hugging Face tokenizer.json (byte-level BPE and SentencePiece-style BPE): load the file, then encode
// and decode a fixed text with it. A tokenizer that loads must encode without throwing, and its ids must
// lie inside the vocabulary it reports.
#include "harness/model/tokenizers/hf_tokenizer_json.h"
#include "tests/fuzz/fuzz_support.h"

#include <cstdio>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = ptq::fuzz::scratch_file("tokenizer.json", ptq::fuzz::as_text(data, size));
  ptq::tok::LoadedTokenizer t;
  if (!ptq::fuzz::accepts([&] { t = ptq::tok::load_hf_tokenizer_json(path, ""); })) return 0;
  ptq::fuzz::accepts([&] {
    const auto ids = t.backend->encode("Hello wörld, 12345 <s> \xF0\x9F\x98\x80\n\tend");
    for (const int32_t id : ids)
      if (id < 0 || id >= t.vocab_size) {
        std::fprintf(stderr, "fuzz_hf_tokenizer: id %d outside the vocabulary of %d\n", id, t.vocab_size);
        std::abort();
      }
    (void)t.backend->decode(ids);
  });
  return 0;
}
