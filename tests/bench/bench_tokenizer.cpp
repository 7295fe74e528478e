// Tokenization throughput (Google Benchmark): WikiText-2's test split (~1.3 MB, the perplexity protocol's
// text, joined as that protocol joins it) through each real tokenizer, in tokens per second. The
// tokenizers are the fixtures of tests/tokenizer_oracle (prepare.mjs writes them; the parity tests leave
// them in $TMPDIR/ptqbench-tokenizer-oracle-<uid>, or set PTQ_TOKENIZER_ORACLE_DIR); the npm reference's
// speed on the same text: `node tests/tokenizer_oracle/encode.mjs ... --time` (docs/models.md, Tokenizers).
// Skipped (reported as an error) when the fixtures or PTQ_TEST_DATA's WikiText-2 are absent.
#include "harness/data/text_sources.h"
#include "harness/io/files.h"
#include "harness/model/tokenizer.h"

#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace {

std::string oracle_dir() {
  if (const char* d = std::getenv("PTQ_TOKENIZER_ORACLE_DIR")) return d;
  return (std::filesystem::temp_directory_path() / fmt::format("ptqbench-tokenizer-oracle-{}", ::getuid())).string();
}

std::string wikitext_test() {
  const char* data = std::getenv("PTQ_TEST_DATA");
  const std::string file = std::string(data ? data : "../shared/data") + "/wikitext2/wiki.test.raw";
  return ptq::io::file_exists(file) ? ptq::eval::wikitext_join(ptq::io::read_file(file)) : std::string();
}

void BM_TokenizeWikiText2(benchmark::State& state, const std::string& fixture) {
  const std::string path = oracle_dir() + "/fixtures/" + fixture;
  const std::string text = wikitext_test();
  if (text.empty() || !std::filesystem::exists(path)) {
    state.SkipWithError("needs PTQ_TEST_DATA's wikitext2/wiki.test.raw and the tokenizer fixtures (run the parity tests)");
    for (auto _ : state) {
    }
    return;
  }
  const auto tok = ptq::Tokenizer::load(path);
  size_t tokens = 0;
  for (auto _ : state) {
    const auto ids = tok.encode_input(text);
    tokens = ids.size();
    benchmark::DoNotOptimize(ids.data());
  }
  state.counters["tokens"] = static_cast<double>(tokens);
  state.counters["tokens_per_s"] = benchmark::Counter(static_cast<double>(tokens), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["MB_per_s"] = benchmark::Counter(static_cast<double>(text.size()) / 1e6, benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace

BENCHMARK_CAPTURE(BM_TokenizeWikiText2, llama2_json, std::string("llama2-meta-json"))->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK_CAPTURE(BM_TokenizeWikiText2, llama3_json, std::string("llama3-json"))->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK_CAPTURE(BM_TokenizeWikiText2, llama3_tiktoken, std::string("llama3-tiktoken/tokenizer.model"))->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK_CAPTURE(BM_TokenizeWikiText2, qwen2_5_json, std::string("qwen2_5-json"))->Unit(benchmark::kMillisecond)->Iterations(3);
