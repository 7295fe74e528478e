// Tests on real data from PTQ_TEST_DATA (default ../shared/data); each skips when its file is absent.
//  - WikiText-2 raw test split: the HF row/join rules give the published character count and hash.
//  - stories260K: a real pretrained Llama (GQA, tied embeddings) in llama2.c format, converted here to a
//    Hugging Face checkpoint; greedy decoding must reproduce llama2.c's own test output token for token.
#include "io/files.h"
#include "io/sha256.h"
#include "model/checkpoint.h"
#include "model/tokenizer.h"
#include "perplexity/perplexity.h"
#include "perplexity/text_sources.h"
#include "support/cli_runner.h"
#include "support/test_env.h"

#include <ATen/ATen.h>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

using ptq::test::TempDir;

namespace fs = std::filesystem;

namespace {

// llama2.c's expected_stdout for `run stories260K.bin -z tok512.bin -t 0.0 -n 200` (test_all.py).
const char* kStoriesGreedy =
    "Once upon a time, there was a little girl named Lily. She loved to play outside in the park. One day, she saw a "
    "big, red ball. She wanted to play with it, but it was too high.\nLily's mom said, \"Lily, let's go to the "
    "park.\" Lily was sad and didn't know what to do. She said, \"I want to play with your ball, but I can't find "
    "it.\"\nLily was sad and didn't know what to do. She said, \"I'm sorry, Lily. I didn't know what to do.\"\nLily "
    "didn't want to help her mom, so she";

// Converts a llama2.c (version 0) checkpoint to an HF directory. llama2.c rotates interleaved pairs
// (2i, 2i+1); HF rotates (i, i + d/2), so q/k rows are permuted per head exactly as transformers'
// convert_llama_weights_to_hf.py does: view(heads, d/2, 2, in).transpose(1, 2).
void convert_llama2c(const std::string& bin, const std::string& out_dir) {
  std::ifstream in(bin, std::ios::binary);
  int32_t h[7];
  in.read(reinterpret_cast<char*>(h), sizeof h);
  const int64_t dim = h[0], hidden = h[1], layers = h[2], heads = h[3], kv_heads = h[4], vocab = std::abs(h[5]),
                seq_len = h[6];
  REQUIRE(h[5] > 0);  // shared classifier
  const int64_t head_dim = dim / heads, kv_dim = kv_heads * head_dim;
  const auto read = [&](std::vector<int64_t> shape) {
    at::Tensor t = at::empty(shape, at::kFloat);
    in.read(static_cast<char*>(t.data_ptr()), t.numel() * sizeof(float));
    REQUIRE(in.good());
    return t;
  };
  const auto permute = [&](const at::Tensor& w, int64_t n_heads) {
    return w.view({n_heads, w.size(0) / n_heads / 2, 2, w.size(1)}).transpose(1, 2).reshape({w.size(0), w.size(1)});
  };
  ptq::LlamaConfig c;
  c.hidden_size = dim;
  c.intermediate_size = hidden;
  c.num_hidden_layers = layers;
  c.num_attention_heads = heads;
  c.num_key_value_heads = kv_heads;
  c.head_dim = head_dim;
  c.vocab_size = vocab;
  c.max_position_embeddings = seq_len;
  c.rms_norm_eps = 1e-5;
  c.tie_word_embeddings = true;
  ptq::LlamaModel m(c);
  m.embed_tokens = read({vocab, dim});
  const at::Tensor rms_att = read({layers, dim}), wq = read({layers, dim, dim}), wk = read({layers, kv_dim, dim}),
                   wv = read({layers, kv_dim, dim}), wo = read({layers, dim, dim}), rms_ffn = read({layers, dim}),
                   w1 = read({layers, hidden, dim}), w2 = read({layers, dim, hidden}), w3 = read({layers, hidden, dim});
  m.norm = read({dim});
  for (int64_t l = 0; l < layers; ++l) {
    auto& b = m.blocks[l];
    b.input_layernorm = rms_att[l].clone();
    b.post_attention_layernorm = rms_ffn[l].clone();
    b.q_proj.weight = permute(wq[l], heads);
    b.k_proj.weight = permute(wk[l], kv_heads);
    b.v_proj.weight = wv[l].clone();
    b.o_proj.weight = wo[l].clone();
    b.gate_proj.weight = w1[l].clone();
    b.down_proj.weight = w2[l].clone();
    b.up_proj.weight = w3[l].clone();
  }
  m.lm_head = m.embed_tokens;
  ptq::save_llama(m, out_dir, at::kFloat);
}

}  // namespace

TEST_CASE("wiki.test.raw joins to the 1,294,336 characters HF datasets produces", "[data][wikitext]") {
  const auto path = ptq::test::require_test_data("wikitext2/wiki.test.raw");
  const std::string joined = ptq::eval::wikitext_join(ptq::io::read_file(path));
  // Python counts code points, not bytes.
  size_t chars = 0;
  for (unsigned char c : joined) chars += (c & 0xC0) != 0x80;
  CHECK(chars == 1294336);
  CHECK(ptq::io::sha256_hex(joined) == "696cca6b65a171b0a358a4be6732cdfdf2dd6164a32e20fd70e3c13fc4dfae83");
  CHECK(joined.rfind("\n\n = Robert Boulter = \n\n\n\n\n Robert Boulter is an English film", 0) == 0);
}

TEST_CASE("stories260K converted to HF layout reproduces llama2.c's greedy output", "[data][model]") {
  const auto bin = ptq::test::require_test_data("stories260K/stories260K.bin");
  const auto tok_path = ptq::test::require_test_data("stories260K/tok512.model");
  TempDir dir;
  convert_llama2c(bin, dir.file("stories260K"));
  fs::copy_file(tok_path, dir.file("stories260K/tokenizer.model"));
  const auto model = ptq::load_llama(dir.file("stories260K"));
  const auto tok = ptq::Tokenizer::load(dir.file("stories260K/tokenizer.model"));
  CHECK(model.config().num_key_value_heads == 4);
  CHECK(tok.vocab_size() == 512);

  c10::InferenceMode guard;
  std::vector<int64_t> ids = {tok.bos_id()};
  for (int step = 0; step < 200; ++step) {
    const at::Tensor logits = model.forward(at::tensor(ids, at::kLong).unsqueeze(0));
    ids.push_back(logits[0][-1].argmax().item<int64_t>());
  }
  const std::vector<int32_t> generated(ids.begin() + 1, ids.end());
  CHECK(tok.decode(generated) == kStoriesGreedy);

  // The model's own greedy text is easy for it: through the CLI, ppl on that text must be low and equal
  // to the in-process evaluator on the same stream.
  ptq::test::write_text(dir.file("story.txt"), kStoriesGreedy);
  const auto r = ptq::test::run_ptqbench({"eval", "--model", dir.file("stories260K"), "--task", "text", "--data",
                                          dir.file("story.txt"), "--seqlen", "64", "--no-cache", "--json"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto j = nlohmann::json::parse(r.out);
  const auto stream = tok.encode_with_bos(kStoriesGreedy);
  ptq::eval::PplOptions opt;
  opt.seqlen = 64;
  opt.progress = false;
  const auto in_process =
      ptq::eval::evaluate_perplexity(model, at::tensor(std::vector<int64_t>(stream.begin(), stream.end()), at::kLong), opt);
  CHECK(j["ppl"].get<double>() == Approx(in_process.ppl).epsilon(1e-6));
  CHECK(j["ppl"].get<double>() < 3.0);
  CHECK(j["ppl"].get<double>() > 1.0);
}

TEST_CASE("the real tokenizer and WikiText-2 through eval: a full protocol run", "[data][wikitext]") {
  const auto bin = ptq::test::require_test_data("stories260K/stories260K.bin");
  const auto wiki = ptq::test::require_test_data("wikitext2/wiki.test.raw");
  TempDir dir;
  convert_llama2c(bin, dir.file("m"));
  fs::copy_file(ptq::test::require_test_data("stories260K/tok512.model"), dir.file("m/tokenizer.model"));
  const auto r = ptq::test::run_ptqbench({"eval", "--model", dir.file("m"), "--task", "wikitext2", "--data", wiki,
                                          "--seqlen", "512", "--limit", "4", "--no-cache", "--json"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto j = nlohmann::json::parse(r.out);
  // Every segment of the joined, once-tokenized stream is counted; 4 are scored.
  CHECK(j["nsamples"] == 4);
  CHECK(j["nsamples_total"].get<int64_t>() == j["stream_tokens"].get<int64_t>() / 512);
  CHECK(j["hashes"]["data_sha256"] == "173c87a53759e0201f33e0ccf978e510c2042d7f2cb78229d9a50d79b9e7dd08");
  // A TinyStories model on Wikipedia: finite and far worse than on its own stories.
  CHECK(j["ppl"].get<double>() > 10.0);
  CHECK(j["ppl"].get<double>() < 1e4);
}
