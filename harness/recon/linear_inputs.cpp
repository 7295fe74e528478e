#include "harness/recon/linear_inputs.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

namespace ptq::recon {

namespace {

// One batch: the forward of decoder_block_forward up to the group's linears.
at::Tensor group_input(const DecoderBlock& b, const LlamaConfig& c, LinearGroup group, const at::Tensor& x,
                       const RopeTables& rope, const ActivationHook* aq) {
  const at::Tensor n1 = input_norm(b, c, x);
  if (group == LinearGroup::kQkv) return at_site(aq, n1, ActivationSite::kQkvInput);
  if (group == LinearGroup::kOut) return at_site(aq, attention_context(b, c, n1, rope, aq), ActivationSite::kOutInput);
  const at::Tensor h = x + attention_forward(b, c, n1, rope, aq);
  const at::Tensor gate_up_in = at_site(aq, post_attention_norm(b, c, h), ActivationSite::kGateUpInput);
  if (group == LinearGroup::kGateUp) return gate_up_in;
  return at_site(aq, at::silu(b.gate_proj(gate_up_in)) * b.up_proj(gate_up_in), ActivationSite::kDownInput);
}

}  // namespace

std::vector<size_t> linears_of(LinearGroup group) {
  switch (group) {  // DecoderBlock::linears(): q, k, v, o, gate, up, down
    case LinearGroup::kQkv: return {0, 1, 2};
    case LinearGroup::kOut: return {3};
    case LinearGroup::kGateUp: return {4, 5};
    case LinearGroup::kDown: return {6};
  }
  return {};
}

at::Tensor linear_group_inputs(const DecoderBlock& block, const LlamaConfig& config, LinearGroup group, const at::Tensor& x,
                               const RopeTables& rope, const ActivationHook* aq, int64_t batch) {
  at::NoGradGuard no_grad;
  const at::Device dev = block.q_proj.weight.device();
  std::vector<at::Tensor> rows;
  for (int64_t j = 0; j < x.size(0); j += batch) {
    const at::Tensor in = group_input(block, config, group, x.narrow(0, j, std::min(batch, x.size(0) - j)).to(dev), rope, aq);
    rows.push_back(in.reshape({-1, in.size(-1)}));
  }
  return at::cat(rows, 0);
}

}  // namespace ptq::recon
