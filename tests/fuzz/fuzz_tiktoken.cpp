// Meta's tiktoken model file (Llama-3: base64 token, space, rank per line): load it, encode and decode a
// fixed text; ids must lie inside the vocabulary the tokenizer reports.
#include "harness/model/tokenizers/tiktoken_llama3.h"
#include "tests/fuzz/fuzz_support.h"

#include <cstdio>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = ptq::fuzz::scratch_file("tokenizer.model", ptq::fuzz::as_text(data, size));
  ptq::tok::LoadedTokenizer t;
  if (!ptq::fuzz::accepts([&] { t = ptq::tok::load_tiktoken_llama3(path, ""); })) return 0;
  ptq::fuzz::accepts([&] {
    const auto ids = t.backend->encode("Hello world, 12345 <|begin_of_text|> \xC3\xA9t\xC3\xA9\n");
    for (const int32_t id : ids)
      if (id < 0 || id >= t.vocab_size) {
        std::fprintf(stderr, "fuzz_tiktoken: id %d outside the vocabulary of %d\n", id, t.vocab_size);
        std::abort();
      }
    (void)t.backend->decode(ids);
  });
  return 0;
}
