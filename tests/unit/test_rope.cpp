#include "harness/model/rope.h"

#include <ATen/ATen.h>
#include <catch2/catch.hpp>

#include <cmath>


namespace {
ptq::LlamaConfig rope_config(int64_t head_dim, double theta) {
  ptq::LlamaConfig c;
  c.head_dim = head_dim;
  c.rope_theta = theta;
  return c;
}
}  // namespace

TEST_CASE("inv_freq = theta^(-2i/d)", "[unit][rope]") {
  const auto c = rope_config(8, 10000.0);
  const at::Tensor f = ptq::rope_inv_freq(c);
  REQUIRE(f.numel() == 4);
  CHECK(f.scalar_type() == at::kFloat);
  for (int i = 0; i < 4; ++i) CHECK(f[i].item<double>() == Approx(std::pow(10000.0, -2.0 * i / 8)).epsilon(1e-6));
}

TEST_CASE("llama3 and linear scaling of inv_freq", "[unit][rope]") {
  auto c = rope_config(8, 500000.0);
  c.rope_scaling.type = "llama3";
  c.rope_scaling.factor = 8.0;
  c.rope_scaling.low_freq_factor = 1.0;
  c.rope_scaling.high_freq_factor = 4.0;
  c.rope_scaling.original_max_position_embeddings = 8192;
  // Values computed with the transformers formula in double precision (Python): wavelengths 6.3 and 167
  // stay, 4443 is blended, 118,600 is divided by 8.
  const double expected[] = {1.0, 0.03760603093086393, 0.0005248461609929547, 6.647869871181236e-06};
  const at::Tensor f = ptq::rope_inv_freq(c);
  for (int i = 0; i < 4; ++i) CHECK(f[i].item<double>() == Approx(expected[i]).epsilon(1e-5));

  auto lin = rope_config(8, 10000.0);
  lin.rope_scaling.type = "linear";
  lin.rope_scaling.factor = 4.0;
  CHECK(ptq::rope_inv_freq(lin)[1].item<double>() == Approx(0.1 / 4.0).epsilon(1e-6));
}

TEST_CASE("apply_rope rotates the pairs (i, i + d/2) by pos * inv_freq_i", "[unit][rope]") {
  const auto c = rope_config(6, 100.0);
  const int64_t T = 5;
  const auto tables = ptq::rope_tables(c, T, at::TensorOptions().dtype(at::kFloat));
  CHECK(tables.cos.sizes() == at::IntArrayRef({T, 6}));
  const at::Tensor x = at::randn({2, 3, T, 6});  // [B, heads, T, head_dim]
  const at::Tensor y = ptq::apply_rope(x, tables);
  REQUIRE(y.sizes() == x.sizes());
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t h = 0; h < 3; ++h)
      for (int64_t t = 0; t < T; ++t)
        for (int64_t i = 0; i < 3; ++i) {
          const double angle = t * std::pow(100.0, -2.0 * i / 6);
          const double a = x[b][h][t][i].item<double>(), bb = x[b][h][t][i + 3].item<double>();
          CHECK(y[b][h][t][i].item<double>() == Approx(a * std::cos(angle) - bb * std::sin(angle)).margin(1e-5));
          CHECK(y[b][h][t][i + 3].item<double>() == Approx(bb * std::cos(angle) + a * std::sin(angle)).margin(1e-5));
        }
}
