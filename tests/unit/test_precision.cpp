// The reconstruction engine's precision policy (which setting on which device gets fp32, amp, or the
// fp32 block) and dynamic loss scaling with GradScaler's arithmetic, driven by hand-made gradients.
#include "harness/ptq/quant_setting.h"
#include "harness/recon/loss_scaler.h"
#include "harness/recon/precision.h"

#include <ATen/ATen.h>
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

using ptq::quant::QuantSetting;
using ptq::recon::precision_policy;

TEST_CASE("precision policy: fp32 on CPU, amp for <8-bit and weight-only on CUDA, fp32 block for 8-bit", "[unit][precision]") {
  const c10::Device cpu(c10::kCPU), cuda(c10::kCUDA, 0);
  for (const char* s : {"W4A4", "W8A8", "W4A16"}) {
    const auto p = precision_policy(QuantSetting::parse(s), cpu, c10::kFloat);
    CHECK_FALSE(p.autocast);
    CHECK_FALSE(p.loss_scaling);
    CHECK_FALSE(p.fp32_block);
  }
  for (const char* s : {"W4A4", "W6A6", "W2A16", "W4A16g128"}) {
    INFO(s);
    const auto p = precision_policy(QuantSetting::parse(s), cuda, c10::kHalf);
    CHECK(p.autocast);
    CHECK(p.loss_scaling);
    CHECK_FALSE(p.fp32_block);
  }
  for (const char* s : {"W4A8", "W8A8", "W8A16"}) {
    INFO(s);
    const auto p = precision_policy(QuantSetting::parse(s), cuda, c10::kHalf);
    CHECK(p.fp32_block);
    CHECK_FALSE(p.autocast);
  }
  CHECK_FALSE(precision_policy(QuantSetting::parse("W4A4"), cuda, c10::kFloat).autocast);  // an fp32 model stays fp32
  // A half-precision model on the CPU (no CPU autocast here) trains its block in float32 (issue #25: TTA
  // fed bf16 activations to float32 fake-quantized weights).
  for (const auto dtype : {c10::kHalf, c10::kBFloat16}) {
    const auto p = precision_policy(QuantSetting::parse("W4A16"), cpu, dtype);
    CHECK(p.fp32_block);
    CHECK_FALSE(p.autocast);
  }
}

TEST_CASE("dynamic loss scaling: unscale, skip on overflow with back-off, growth after the interval", "[unit][precision]") {
  ptq::train::DynamicLossScaler scaler(1024.0, 2.0, 0.5, /*growth_interval=*/3);
  at::Tensor p = at::zeros({3}).requires_grad_(true);
  // A scaled loss 2*sum(p): gradients 2*1024 each, unscaled to 2.
  scaler.scale((p * 2).sum()).backward();
  CHECK(p.grad()[0].item<double>() == 2048.0);
  REQUIRE(scaler.unscale({p}));
  CHECK(p.grad()[1].item<double>() == 2.0);
  scaler.update(false);
  // An overflow: the step is to be skipped and the scale halves; the growth count restarts.
  p.mutable_grad().fill_(std::numeric_limits<float>::infinity());
  CHECK_FALSE(scaler.unscale({p}));
  scaler.update(true);
  CHECK(scaler.current_scale() == 512.0);
  CHECK(scaler.skipped_steps() == 1);
  for (int i = 0; i < 2; ++i) scaler.update(false);
  CHECK(scaler.current_scale() == 512.0);
  scaler.update(false);  // the third finite step in a row
  CHECK(scaler.current_scale() == 1024.0);
}
