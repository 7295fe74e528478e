// CBQ's cross-block reconstruction (research/cbq_mppq.md §1.2.2-1.2.7) on the reconstruction engine
// (harness/recon/block_recon.h) with windows of `window` blocks overlapping by `overlap`:
//
//   blocks entering their first window: CFP on the FP path's statistics (activation scales folded
//     exactly into norm -> {q,k,v}, norm -> {gate,up} and up -> down; weight rows truncated), then their
//     parts (cbq_parts.h); blocks seen before keep their parameters (warm start)
//   loss: E(T_q(X_q), T_fp(X_fp)) + w_h * E(T_q(X_q), T_fp(X_q)) + lambda_r * mean over blocks of L_round(beta)
//     with E = MSE + w_kl * KL(softmax(fp) || softmax(q)) per token over the hidden dimension
//   blocks leaving the window are hardened (the engine advances X_fp and X_q past them)
//
// The engine owns the rest: the step loop, precision, NaN policy (skip-block restores the window's
// parameters to their values at its start: fresh blocks CFP + round-to-nearest), activation placement,
// prefetch, per-window checkpoints (<checkpoint_dir>/window_<w>.safetensors, the learned state of the
// window's blocks) and preemption.
#pragma once

#include "harness/recon/block_recon.h"
#include "methods/cbq/cbq_parts.h"
#include "methods/cbq/cfp.h"

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

namespace ptq::methods::cbq {

struct CrossBlockOptions {
  int64_t window = 2, overlap = 1;
  recon::ReconOptions train;  // epochs per window, batch size, precision, NaN policy, checkpoints, progress
  double rounding_weight = 0.01, warmup = 0.2, beta_start = 20, beta_end = 2;
  double kl_weight = 1.0, homologous_weight = 1.0;
  bool cfp = true, cfp_weights = true;
  CfpOptions cfp_options;
  CbqPartsOptions parts;
};

// E(h_q, h_fp) = mean((h_q - h_fp)^2) + kl_weight * mean over tokens of KL(softmax(h_fp) || softmax(h_q)).
at::Tensor homologous_distance(const at::Tensor& q, const at::Tensor& fp, double kl_weight);

// Quantizes `model` in place; returns the per-window log and appends scales / zero points to `qparams`.
nlohmann::json cross_block_reconstruct(LlamaModel& model, const at::Tensor& calibration, const CrossBlockOptions& o,
                                       std::vector<std::pair<std::string, at::Tensor>>& qparams);

}  // namespace ptq::methods::cbq
