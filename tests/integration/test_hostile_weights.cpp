// Weights that are wrong in ways the loader used to accept silently (issue #29, cases 4-6): a norm stored
// as I16, a tied config with a different lm_head, NaN/Inf weights (resident and streamed), a tokenizer
// with more ids than the model has embedding rows, a corrupted quant_params.safetensors. Each bad
// checkpoint is the embedded tiny model copied into a temporary directory with one tensor rewritten; each
// must get exit 2, one line naming the file and the tensor, and nothing written.
#include "harness/io/safetensors.h"
#include "tests/support/cli_runner.h"
#include "tests/support/test_env.h"

#include <ATen/ATen.h>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <functional>

using Catch::Matchers::Contains;
using ptq::test::tiny_model;
using ptq::test::CliResult;
using ptq::test::run_ptqbench;
using ptq::test::TempDir;

namespace fs = std::filesystem;

namespace {

std::string tiny_wikitext() { return ptq::test::source_dir() + "/experiments/data/tiny/wikitext2"; }

// A writable copy of the tiny model at dir/name.
std::string copy_tiny(const TempDir& dir, const std::string& name) {
  const std::string to = dir.file(name);
  fs::copy(tiny_model(), to, fs::copy_options::recursive);
  for (const auto& e : fs::recursive_directory_iterator(to)) fs::permissions(e.path(), fs::perms::owner_write, fs::perm_options::add);
  return to;
}

// Rewrites <path> with `change` applied to every tensor (returning it unchanged keeps it).
using Change = std::function<at::Tensor(const std::string& name, const at::Tensor& t)>;
void rewrite_safetensors(const std::string& path, const Change& change) {
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  std::map<std::string, std::string> metadata;
  {
    const ptq::io::SafetensorsFile f(path);
    metadata = f.metadata();
    for (const auto& t : f.tensors()) tensors.emplace_back(t.name, change(t.name, f.load(t.name)));
  }
  ptq::io::write_safetensors(path, tensors, metadata);
}

void set_config(const std::string& model, const std::string& key, const nlohmann::json& value) {
  const std::string path = model + "/config.json";
  nlohmann::json c;
  std::ifstream(path) >> c;
  c[key] = value;
  std::ofstream(path) << c.dump(2);
}

CliResult eval(const std::string& model, std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"eval", "--model", model, "--task", "wikitext2", "--data", tiny_wikitext(),
                                   "--seqlen", "64", "--limit", "2", "--json", "--no-cache"};
  args.insert(args.end(), extra.begin(), extra.end());
  return run_ptqbench(args);
}

double ppl_of(const CliResult& r) {
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return nlohmann::json::parse(r.out)["results"]["wikitext2"]["ppl"].get<double>();
}

// Exit 2, "ptqbench: error: " and one line holding every part, nothing on stdout.
void check_refused(const CliResult& r, const std::vector<std::string>& parts) {
  INFO("stderr: " << r.err);
  CHECK(r.exit_code == 2);
  CHECK(r.err.rfind("ptqbench: error: ", 0) == 0);
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  CHECK(r.out.empty());
  for (const auto& p : parts) CHECK_THAT(r.err, Contains(p));
}

}  // namespace

TEST_CASE("a norm weight stored as I16 is refused, naming file, tensor, dtype and role", "[integration][hostile_weights]") {
  TempDir dir;
  const std::string m = copy_tiny(dir, "m");
  rewrite_safetensors(m + "/model.safetensors", [](const std::string& name, const at::Tensor& t) {
    return name == "model.norm.weight" ? (t * 100).to(at::kShort) : t;  // before: PPL inf, exit 0
  });
  const std::string expected = m + "/model.safetensors: tensor 'model.norm.weight' has dtype I16, expected a "
                                   "floating-point dtype (F32, F16, BF16) for a norm weight";
  check_refused(eval(m), {expected});
  const auto q = run_ptqbench({"quantize", "--model", m, "--method", "rtn", "--setting", "W4A16", "--out", dir.file("q")});
  check_refused(q, {expected});
  CHECK_FALSE(fs::exists(dir.file("q")));
}

TEST_CASE("tie_word_embeddings with a different lm_head is refused, an identical copy is accepted", "[integration][hostile_weights]") {
  TempDir dir;
  const std::string conflict = copy_tiny(dir, "conflict");
  set_config(conflict, "tie_word_embeddings", true);  // the tiny model's lm_head differs from its embedding
  check_refused(eval(conflict), {conflict + "/config.json: tie_word_embeddings is true, but " + conflict +
                                     "/model.safetensors also holds an lm_head.weight that differs from "
                                     "model.embed_tokens.weight (different values)"});

  // lm_head := embedding, bit for bit. Tied, the copy is ignored; untied, it is used: the same model.
  const std::string tied = copy_tiny(dir, "tied"), untied = copy_tiny(dir, "untied");
  const auto copy_embedding = [](const std::string& path) {
    at::Tensor embed;
    {
      const ptq::io::SafetensorsFile f(path);
      embed = f.load("model.embed_tokens.weight");
    }
    rewrite_safetensors(path, [&](const std::string& name, const at::Tensor& t) { return name == "lm_head.weight" ? embed.clone() : t; });
  };
  copy_embedding(tied + "/model.safetensors");
  copy_embedding(untied + "/model.safetensors");
  set_config(tied, "tie_word_embeddings", true);
  const double ppl_tied = ppl_of(eval(tied)), ppl_untied = ppl_of(eval(untied));
  CHECK(ppl_tied == ppl_untied);
  CHECK(ppl_tied != ppl_of(eval(tiny_model())));  // the head did change: the comparison can fail
}

TEST_CASE("NaN and Inf weights are refused at load, resident and streamed, and --allow-nonfinite loads them", "[integration][hostile_weights]") {
  TempDir dir;
  const std::string m = copy_tiny(dir, "m");
  rewrite_safetensors(m + "/model.safetensors", [](const std::string& name, const at::Tensor& t) {
    if (name != "model.layers.2.mlp.up_proj.weight") return t;
    at::Tensor bad = t.clone();  // [768, 256]
    bad[3][17] = std::numeric_limits<float>::quiet_NaN();
    bad[5][0] = -std::numeric_limits<float>::infinity();
    return bad;
  });
  const std::string expected = m + "/model.safetensors: tensor 'model.layers.2.mlp.up_proj.weight' has 2 non-finite "
                                   "value(s) of 196608 (first: nan at [3, 17])";
  check_refused(eval(m), {expected, "--allow-nonfinite"});
  // Streamed: found when the block reader reads block 2, after the notice and progress lines of blocks 0-1.
  const CliResult streamed = eval(m, {"--stream", "on"});
  INFO(streamed.err);
  CHECK(streamed.exit_code == 2);
  CHECK(streamed.out.empty());
  CHECK_THAT(streamed.err, Contains("wikitext2 blocks 1/4") && Contains("\nptqbench: error: " + expected));
  CHECK(std::count(streamed.err.begin(), streamed.err.end(), '\n') == 3);
  const auto q = run_ptqbench({"quantize", "--model", m, "--method", "rtn", "--setting", "W4A16", "--out", dir.file("q")});
  check_refused(q, {expected});
  CHECK_FALSE(fs::exists(dir.file("q")));
  // Let through with --allow-nonfinite, the NaN reaches the loss: the model's fault, exit 2, not an
  // internal error.
  check_refused(eval(m, {"--allow-nonfinite"}), {"segment 0: loss is nan: the model's outputs are not finite"});
}

TEST_CASE("a checkpoint with NaN weights loads with --allow-nonfinite", "[integration][hostile_weights]") {
  // A NaN in the embedding row of a token the evaluated text never uses: refused by default; loaded with
  // the flag, and then the perplexity is exactly the original model's.
  TempDir dir;
  const std::string m = copy_tiny(dir, "m");
  rewrite_safetensors(m + "/model.safetensors", [](const std::string& name, const at::Tensor& t) {
    if (name != "model.embed_tokens.weight") return t;
    at::Tensor bad = t.clone();  // [2048, 256]
    bad[2047][5] = std::numeric_limits<float>::quiet_NaN();
    return bad;
  });
  check_refused(eval(m), {m + "/model.safetensors: tensor 'model.embed_tokens.weight' has 1 non-finite value(s) of "
                              "524288 (first: nan at [2047, 5])"});
  CHECK(ppl_of(eval(m, {"--allow-nonfinite"})) == ppl_of(eval(tiny_model())));
}

TEST_CASE("a tokenizer with ids beyond vocab_size is refused naming the tokenizer file", "[integration][hostile_weights]") {
  TempDir dir;
  const std::string m = copy_tiny(dir, "m");
  // A model with 1024 embedding rows beside the tiny 2048-piece tokenizer.
  rewrite_safetensors(m + "/model.safetensors", [](const std::string& name, const at::Tensor& t) {
    return name == "model.embed_tokens.weight" || name == "lm_head.weight" ? t.slice(0, 0, 1024).clone() : t;
  });
  set_config(m, "vocab_size", 1024);
  const std::string expected = m + "/tokenizer.model: tokenizer ids go up to 2047, but the model's vocab_size is 1024 (" +
                               m + "/config.json)";
  // Before: an index out of range inside OmniQuant's calibration forward (exit 1).
  const auto q = run_ptqbench({"quantize", "--model", m, "--method", "omniquant", "--setting", "W4A16", "--calib-data",
                               tiny_wikitext(), "--nsamples", "2", "--seqlen", "32", "--out", dir.file("q"), "--no-cache"});
  check_refused(q, {expected});
  CHECK_FALSE(fs::exists(dir.file("q")));
  check_refused(run_ptqbench({"info", m}), {expected});
}

namespace {

// The tiny model quantized once (rtn W4A16g64) for every section below, which edit copies of it.
const std::string& quantized_tiny() {
  static TempDir dir;
  static const std::string q = [] {
    const auto r = run_ptqbench({"quantize", "--model", tiny_model(), "--method", "rtn", "--setting", "W4A16g64", "--out", dir.file("q")});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    return dir.file("q");
  }();
  return q;
}

}  // namespace

TEST_CASE("quant_params.safetensors is read back and validated", "[integration][hostile_weights]") {
  const auto info = run_ptqbench({"info", quantized_tiny()});
  REQUIRE(info.exit_code == 0);
  // 4 layers x 7 linears x (scale, zero)
  CHECK_THAT(info.out, Contains("quant params quant_params.safetensors: 56 tensors validated"));

  TempDir dir;
  fs::copy(quantized_tiny(), dir.file("q"), fs::copy_options::recursive);
  const std::string qp = dir.file("q") + "/quant_params.safetensors";
  SECTION("a zero scale") {
    rewrite_safetensors(qp, [](const std::string& name, const at::Tensor& t) {
      if (name != "model.layers.1.self_attn.k_proj.weight_scale") return t;
      at::Tensor bad = t.clone();  // k_proj [128, 256] at group 64: [128, 4]
      bad[7][2] = 0;
      return bad;
    });
    const std::string expected = qp + ": tensor 'model.layers.1.self_attn.k_proj.weight_scale' has 1 of 512 (first: 0 at "
                                      "[7, 2]) scales that are not finite and > 0";
    check_refused(eval(dir.file("q")), {expected});
    check_refused(run_ptqbench({"info", dir.file("q")}), {expected});
  }
  SECTION("a zero point out of range") {
    rewrite_safetensors(qp, [](const std::string& name, const at::Tensor& t) {
      return name == "model.layers.0.mlp.down_proj.weight_zero" ? t.fill_(std::numeric_limits<float>::infinity()) : t;
    });
    check_refused(eval(dir.file("q")), {qp + ": tensor 'model.layers.0.mlp.down_proj.weight_zero' has 3072 of 3072 (first: inf at [0, 0])"});
  }
  SECTION("a shape that does not fit the linear at the group size") {
    rewrite_safetensors(qp, [](const std::string& name, const at::Tensor& t) {
      return name == "model.layers.3.mlp.gate_proj.weight_scale" ? t.slice(1, 0, 2).clone() : t;
    });
    check_refused(eval(dir.file("q")), {qp + ": tensor 'model.layers.3.mlp.gate_proj.weight_scale' has shape [768, 2], "
                                             "expected [768, 4] for a [768, 256] linear at group size 64"});
  }
  SECTION("an entry naming no linear") {
    std::vector<std::pair<std::string, at::Tensor>> tensors;
    {
      const ptq::io::SafetensorsFile f(qp);
      for (const auto& t : f.tensors())
        tensors.emplace_back(t.name == "model.layers.0.mlp.up_proj.weight_scale" ? "model.layers.0.mlp.upp_proj.weight_scale" : t.name,
                             f.load(t.name));
    }
    ptq::io::write_safetensors(qp, tensors);
    check_refused(eval(dir.file("q")), {qp + ": tensor 'model.layers.0.mlp.upp_proj.weight_scale' names no linear of this "
                                             "model (did you mean 'model.layers.0.mlp.up_proj'?)"});
  }
}
