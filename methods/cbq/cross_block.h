// CBQ's cross-block reconstruction (research/cbq_mppq.md §1.2.2-1.2.7):
//
//   X_fp = X_q = embed(calibration)
//   for each window of the schedule (cbq/window_schedule.h):
//     blocks entering for the first time: CFP on the FP path's statistics (activation scales folded
//       exactly into norm -> {q,k,v}, norm -> {gate,up} and up -> down; weight rows truncated), then
//       their parts (cbq_parts.h); blocks seen before keep their parameters (warm start)
//     targets: T_fp(window)(X_fp) and, homologous, T_fp(window)(X_q)  (the original FP blocks)
//     AdamW over the window's parts: E(T_q(X_q), t1) + w_h * E(T_q(X_q), t2) + lambda_r * L_round(beta)
//       with E = MSE + w_kl * KL(softmax(fp) || softmax(q)) per token over the hidden dimension
//     blocks leaving the window are hardened: X_fp = B_fp(X_fp), X_q = B_hard(X_q) (activations quantized)
//
// The steps run in the reconstruction engine's loop (recon::train_steps: precision policy, loss scaling,
// NaN policy, progress). Per-window checkpoints: after each window, the hardened blocks, their scales and
// the learned state of the blocks still in flight go to <checkpoint_dir>/window_<w>.safetensors; a rerun
// with the same key replays finished windows from their files (forward passes only) and resumes at the
// first unfinished one with the same result. A NaN/Inf loss with nan_policy skip-block restores the
// window's parameters to their values at the window's start (fresh blocks: CFP + round-to-nearest).
#pragma once

#include "cbq/cbq_parts.h"
#include "cbq/cfp.h"
#include "recon/block_recon.h"

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
