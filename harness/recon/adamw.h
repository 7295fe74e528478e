// AdamW with parameter groups (decoupled weight decay, bias-corrected moments), the arithmetic of
// torch.optim.AdamW, written out so that runs are reproducible and the reconstruction engine can reuse it.
#pragma once

#include <ATen/core/Tensor.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace ptq::train {

struct ParamGroup {
  std::vector<at::Tensor> params;  // leaf tensors with requires_grad
  double lr = 1e-3;
  double weight_decay = 0.0;
};

class AdamW {
 public:
  AdamW(std::vector<ParamGroup> groups, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8);
  // One update from the current .grad() of every parameter (parameters without a gradient are skipped).
  // `lr_scale` multiplies every group's learning rate (schedules).
  void step(double lr_scale = 1.0);
  void zero_grad();
  std::vector<ParamGroup>& groups() { return groups_; }
  int64_t steps() const { return t_; }
  // The optimiser's own state (both moments of every parameter, the step count) by name, so that a
  // stopped run resumes with exactly the updates it would have made ("adamw.t", "adamw.m.<g>.<i>", ...).
  std::vector<std::pair<std::string, at::Tensor>> state() const;
  // Throws InputError when a name is missing or a shape differs (a checkpoint of other parameters).
  void load_state(const std::map<std::string, at::Tensor>& state);

 private:
  std::vector<ParamGroup> groups_;
  std::vector<std::vector<at::Tensor>> m_, v_;
  double beta1_, beta2_, eps_;
  int64_t t_ = 0;
};

// Scales all gradients so that their global L2 norm is at most max_norm; returns the norm before.
double clip_grad_norm(const std::vector<at::Tensor>& params, double max_norm);

}  // namespace ptq::train
