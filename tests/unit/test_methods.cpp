// The method registry, every method's config round trip, and RTN against the naive fake-quant reference.
#include "evaluators/perplexity/perplexity.h"
#include "harness/model/checkpoint.h"
#include "harness/ptq/quantized_checkpoint.h"
#include "harness/util/errors.h"
#include "methods/register_all.h"
#include "tests/support/naive_llama.h"
#include "tests/support/random_model.h"
#include "tests/support/test_env.h"

#include <ATen/ATen.h>
#include <catch2/catch.hpp>

using Catch::Matchers::Contains;
using ptq::quant::QuantSetting;

namespace {

std::vector<int64_t> stream_of(int64_t n, int64_t vocab) {
  std::vector<int64_t> ids;
  for (int64_t i = 0; i < n; ++i) ids.push_back((i * 31 + 7 + i * i % 13) % vocab);
  return ids;
}

double rtn_ppl(const ptq::LlamaModel& fp, const std::string& setting, const std::vector<int64_t>& ids, int64_t seqlen,
               const nlohmann::json& config = nlohmann::json::object()) {
  ptq::LlamaModel m = fp;  // blocks hold tensors: re-point each one at a copy before quantizing
  for (auto& [name, t] : m.named_tensors()) *t = t->clone();
  if (m.config().tie_word_embeddings) m.lm_head = m.embed_tokens;
  const auto& rtn = ptq::methods::registry().get("rtn");
  ptq::quant::MethodContext ctx;
  rtn.apply(m, QuantSetting::parse(setting), rtn.resolve_config(config), ctx);
  ptq::eval::PplOptions o;
  o.seqlen = seqlen;
  o.progress = false;
  return ptq::eval::evaluate_perplexity(m, at::tensor(ids, at::kLong), o).ppl;
}

}  // namespace

TEST_CASE("the registry holds exactly the registered methods", "[unit][methods]") {
  CHECK(ptq::methods::registry().names() == std::vector<std::string>{"awq", "cbq", "gptq", "lrquant", "mppq", "omniquant", "rtn"});  // test_fault: only with PTQBENCH_TEST_METHODS=1
  CHECK_THROWS_WITH(ptq::methods::registry().get("omni"), Contains("unknown method 'omni'"));
  CHECK_THROWS_WITH(ptq::methods::registry().get("rtm"), Contains("did you mean 'rtn'?"));
}

TEST_CASE("every method's config round-trips strictly", "[unit][methods]") {
  const auto& registry = ptq::methods::registry();
  for (const auto& name : registry.names()) {
    INFO(name);
    const auto& m = registry.get(name);
    const nlohmann::json defaults = m.default_config();
    CHECK(m.resolve_config(nlohmann::json::object()) == defaults);
    CHECK(m.resolve_config(defaults) == defaults);
    CHECK(m.resolve_config(defaults).dump() == defaults.dump());
    nlohmann::json unknown = defaults;
    unknown["no_such_key"] = 1;
    CHECK_THROWS_WITH(m.resolve_config(unknown), Contains("unknown key \"no_such_key\""));
    CHECK_THROWS_AS(m.resolve_config(nlohmann::json::array()), ptq::InputError);
    for (const auto& [key, value] : defaults.items()) {  // a value of the wrong type for each key
      nlohmann::json wrong = defaults;
      wrong[key] = value.is_string() ? nlohmann::json(3) : nlohmann::json("text");
      CHECK_THROWS_AS(m.resolve_config(wrong), ptq::InputError);
    }
  }
  CHECK_THROWS_WITH(registry.get("rtn").resolve_config({{"range", "median"}}), Contains("expected one of: minmax, gptq_nearest"));
}

TEST_CASE("RTN at W16A16 leaves the model bit-for-bit unchanged", "[unit][methods][rtn]") {
  const auto fp = ptq::test::random_model(ptq::test::tiny_config(), 51);
  const auto ids = stream_of(32 * 3, 97);
  ptq::eval::PplOptions o;
  o.seqlen = 32;
  o.progress = false;
  const double ref = ptq::eval::evaluate_perplexity(fp, at::tensor(ids, at::kLong), o).ppl;
  CHECK(rtn_ppl(fp, "W16A16", ids, 32) == ref);
}

TEST_CASE("RTN perplexities equal the independent fake-quant reference forward", "[unit][methods][rtn]") {
  const auto fp = ptq::test::random_model(ptq::test::tiny_config(), 52);
  const auto ids = stream_of(24 * 2, 97);
  const double fp_ppl = ptq::test::naive_perplexity(fp, ids, 24, 2).ppl;

  // Weight-only: the quantized weights are identical in both, so agreement is tight.
  const double w4 = rtn_ppl(fp, "W4A16", ids, 24);
  CHECK(w4 == Approx(ptq::test::naive_perplexity(fp, ids, 24, 2, {4, 16, 16, 0}).ppl).epsilon(1e-5));
  const double w3g16 = rtn_ppl(fp, "W3A16g16", ids, 24);
  CHECK(w3g16 == Approx(ptq::test::naive_perplexity(fp, ids, 24, 2, {3, 16, 16, 16}).ppl).epsilon(1e-5));
  // Weights and activations: per-token ranges come from float32 activations in the model and double
  // activations in the reference, so an element could round to the neighbouring level; measured here
  // the two agree to ~4e-7 (W4A4), ~2e-7 (W8A8) and ~5e-8 (KV4).
  const double w4a4 = rtn_ppl(fp, "W4A4", ids, 24);
  CHECK(w4a4 == Approx(ptq::test::naive_perplexity(fp, ids, 24, 2, {4, 4, 4, 0}).ppl).epsilon(1e-4));
  const double w8a8 = rtn_ppl(fp, "W8A8", ids, 24);
  CHECK(w8a8 == Approx(ptq::test::naive_perplexity(fp, ids, 24, 2, {8, 8, 8, 0}).ppl).epsilon(1e-4));
  // KV-only quantization reaches Q/K/V and nothing else.
  const double kv4 = rtn_ppl(fp, "W16A16KV4", ids, 24);
  CHECK(kv4 == Approx(ptq::test::naive_perplexity(fp, ids, 24, 2, {16, 16, 4, 0}).ppl).epsilon(1e-4));
  // Quantization hurts, and more bits hurt less.
  CHECK(w4a4 != w4);
  CHECK(std::abs(w8a8 - fp_ppl) < std::abs(w4a4 - fp_ppl));
}

TEST_CASE("RTN gptq_nearest differs from minmax and refuses groups", "[unit][methods][rtn]") {
  auto fp = ptq::test::random_model(ptq::test::tiny_config(), 53);
  // The two range rules differ only on rows that do not straddle 0: make some all-positive.
  fp.block(0).q_proj.weight.narrow(0, 0, 8).abs_().add_(0.05);
  fp.block(1).down_proj.weight.narrow(0, 0, 8).abs_().add_(0.05);
  const auto ids = stream_of(24 * 2, 97);
  CHECK(rtn_ppl(fp, "W3A16", ids, 24, {{"range", "gptq_nearest"}}) != rtn_ppl(fp, "W3A16", ids, 24));
  CHECK_THROWS_WITH(rtn_ppl(fp, "W3A16g16", ids, 24, {{"range", "gptq_nearest"}}), Contains("per output channel"));
}

TEST_CASE("RTN reports scales and zero points for every quantized linear", "[unit][methods][rtn]") {
  auto m = ptq::test::random_model(ptq::test::tiny_config(), 54);
  const auto& rtn = ptq::methods::registry().get("rtn");
  ptq::quant::MethodContext ctx;
  const auto report = rtn.apply(m, QuantSetting::parse("W4A16g32"), rtn.default_config(), ctx);
  CHECK(report.qparams.size() == 2 * 7 * 2);  // layers x linears x (scale, zero)
  CHECK(report.summary["quantized_linears"] == 14);
  for (const auto& [name, t] : report.qparams)
    if (name == "model.layers.0.mlp.down_proj.weight_scale") CHECK(t.sizes() == at::IntArrayRef({64, 3}));
  CHECK_FALSE(m.quantizes_activations());
}
