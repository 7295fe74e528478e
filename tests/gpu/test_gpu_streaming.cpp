// Streaming on CUDA: blocks read from the checkpoint onto the GPU one at a time, and calibration
// activations kept in pinned host memory, must give the model the resident run gives. Skipped (exit 77)
// where LibTorch has no CUDA or no GPU is visible.
#include "evaluators/perplexity/perplexity.h"
#include "harness/model/checkpoint.h"
#include "tests/support/apply_method.h"
#include "tests/support/random_model.h"
#include "tests/support/test_env.h"

#include <ATen/ATen.h>
#include <catch2/catch.hpp>

TEST_CASE("OmniQuant W4A4 on CUDA: streamed with host activations equals resident with device activations", "[gpu][streaming]") {
  if (!at::hasCUDA()) ptq::test::skip_test("no CUDA device");
  ptq::test::TempDir dir;
  ptq::test::TinyShape shape;
  shape.layers = 3;
  ptq::test::write_random_checkpoint(dir.path(), ptq::test::tiny_config(shape), 9);
  const at::Tensor calib = ptq::test::calibration_ids(4, 32, 97);
  ptq::LoadOptions resident_options{at::kHalf, at::Device("cuda"), false, ""};
  ptq::LoadOptions streamed_options{at::kHalf, at::Device("cuda"), true, dir.file("spill")};
  ptq::LlamaModel resident = ptq::load_llama(dir.path(), resident_options);
  ptq::LlamaModel streamed = ptq::load_llama(dir.path(), streamed_options);
  const nlohmann::json config = {{"epochs", 2}, {"batch_size", 2}};
  ptq::test::apply_method(resident, "omniquant", "W4A4", config, calib, "", "device");
  ptq::test::apply_method(streamed, "omniquant", "W4A4", config, calib, "", "host");
  for (size_t i = 0; i < resident.num_blocks(); ++i) {
    INFO("block " << i);
    const ptq::DecoderBlock a = resident.block(i), b = streamed.block(i);
    CHECK(b.q_proj.weight.is_cuda());
    CHECK(at::allclose(a.q_proj.weight.to(at::kFloat), b.q_proj.weight.to(at::kFloat), 1e-3, 1e-3));
    CHECK(at::allclose(a.down_proj.weight.to(at::kFloat), b.down_proj.weight.to(at::kFloat), 1e-3, 1e-3));
  }
  const at::Tensor ids = at::randint(0, 97, {32 * 4}, at::kLong);
  ptq::eval::PplOptions o;
  o.seqlen = 32;
  o.progress = false;
  const double p1 = ptq::eval::evaluate_perplexity(resident, ids, o).ppl;
  const double p2 = ptq::eval::evaluate_perplexity(streamed, ids, o).ppl;
  CHECK(p2 == Approx(p1).epsilon(1e-3));
}
