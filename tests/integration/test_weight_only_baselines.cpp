// GPTQ and AWQ on the embedded default model (experiments/models/tiny-llama) at W4A16g128, calibrated as
// the quickstart calibrates (16 WikiText-2 windows of 256 tokens, seed 2): each must beat RTN on the
// WikiText-2 test segments at seqlen 512 by more than two paired standard errors. The same cells are rows
// of experiments/tiny_weight_only.json (the weight-only table of docs/methods.md).
#include "evaluators/perplexity/perplexity.h"
#include "harness/data/calibration.h"
#include "harness/data/ppl_tasks.h"
#include "harness/model/checkpoint.h"
#include "harness/model/tokenizer.h"
#include "tests/support/apply_method.h"
#include "tests/support/paired_difference.h"
#include "tests/support/random_model.h"
#include "tests/support/test_env.h"

#include <ATen/ATen.h>
#include <catch2/catch.hpp>

TEST_CASE("GPTQ and AWQ beat RTN on the embedded default at W4A16g128", "[integration][gptq][awq]") {
  const std::string model_dir = ptq::test::source_dir() + "/experiments/models/tiny-llama";
  const std::string wiki = ptq::test::source_dir() + "/experiments/data/tiny/wikitext2";
  const ptq::LlamaModel fp = ptq::load_llama(model_dir);
  const ptq::Tokenizer tok = ptq::Tokenizer::load(model_dir);
  const auto cache = ptq::eval::TokenCache::disabled();
  const at::Tensor calib = ptq::eval::sample_calibration("wikitext2", wiki, tok, 16, 256, 2, cache).windows;
  const at::Tensor stream = ptq::eval::load_eval_stream("wikitext2", wiki, &tok, 512, cache).ids;
  ptq::eval::PplOptions o;
  o.seqlen = 512;
  o.batch_size = 2;
  o.progress = false;
  const auto ppl = [&](const std::string& method) {
    ptq::LlamaModel m = ptq::test::copy_model(fp);
    ptq::test::apply_method(m, method, "W4A16g128", nlohmann::json::object(), method == "rtn" ? at::Tensor() : calib);
    return ptq::eval::evaluate_perplexity(m, stream, o);
  };
  const auto rtn = ppl("rtn");
  for (const std::string method : {"gptq", "awq"}) {
    const auto q = ppl(method);
    const auto d = ptq::test::paired_difference(q.segment_loss, rtn.segment_loss);
    INFO(method << ": ppl " << q.ppl << " vs RTN " << rtn.ppl << "; paired loss difference " << d.mean << " +- " << d.se << " over "
                << q.nsamples << " segments");
    CHECK(q.ppl < rtn.ppl);
    CHECK(d.mean < -2 * d.se);
  }
}
