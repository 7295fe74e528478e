// CBQ's cross-block reconstruction (research/cbq_mppq.md §1.2.2-1.2.7) on the reconstruction engine
// (harness/recon/block_recon.h) with windows of `window` blocks overlapping by `overlap`:
//
//   blocks entering their first window: CFP (cfp.h: weight rows truncated, then activation scales from
//     the FP path's statistics folded exactly into norm -> {q,k,v}, norm -> {gate,up} and up -> down),
//     then their parts (cbq_parts.h); blocks seen before keep their parameters (warm start)
//   loss: E(T_q(X_q), T_fp(X_fp)) + w_h * E(T_q(X_q), T_fp(X_q)) + lambda_r * L_round(beta)
//     with E = ||.||^2 + w_kl * KL(softmax(fp) || softmax(q)), both per token over the hidden dimension
//     and averaged over tokens (Distance::kPaper), and L_round AdaRound's sum over every rounded weight
//     of the window (RegularizerScale::kAdaRound), which is AdaRound's and BRECQ's balance: their
//     reconstruction term is the squared error summed over a sample's features, averaged over samples
//   blocks leaving the window are hardened (the engine advances X_fp and X_q past them); the fraction of
//     soft offsets within 0.01 of 0 or 1 just before hardening is logged per block
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

// The normalisation of E's squared error: the paper's ||.||^2 per token (summed over the hidden
// dimension, like the KL term), or the mean over elements (ptqbench before issue #25: the KL term then
// weighs hidden-size times more than the formula says).
enum class Distance { kPaper, kMseMean };
// The rounding regulariser's scale: AdaRound's lambda * sum over the rounded weights, against a per-token
// squared error (with Distance::kMseMean divided by the hidden size to keep that balance), or the mean
// over the weights and over the window's blocks (before issue #25: too weak to binarise the offsets).
enum class RegularizerScale { kAdaRound, kMean };

struct CrossBlockOptions {
  int64_t window = 2, overlap = 1;
  recon::ReconOptions train;  // epochs per window, batch size, precision, NaN policy, checkpoints, progress
  double rounding_weight = 0.01, warmup = 0.2, beta_start = 20, beta_end = 2;
  RegularizerScale regularizer_scale = RegularizerScale::kAdaRound;
  double kl_weight = 1.0, homologous_weight = 1.0;
  Distance distance = Distance::kPaper;
  bool cfp = true;
  CfpSteps cfp_steps;
  CfpOptions cfp_options;
  CbqPartsOptions parts;
};

// E(h_q, h_fp) = ||h_q - h_fp||^2 + kl_weight * KL(softmax(h_fp) || softmax(h_q)), per token over the
// hidden dimension and averaged over tokens; with kMseMean the squared error is the mean over elements.
at::Tensor homologous_distance(const at::Tensor& q, const at::Tensor& fp, double kl_weight, Distance d = Distance::kPaper);

// Quantizes `model` in place; returns the per-window log and appends scales / zero points to `qparams`.
nlohmann::json cross_block_reconstruct(LlamaModel& model, const at::Tensor& calibration, const CrossBlockOptions& o,
                                       std::vector<std::pair<std::string, at::Tensor>>& qparams);

}  // namespace ptq::methods::cbq
