// What closed-form methods (GPTQ's Hessians, AWQ's activation statistics) collect: the inputs of a
// block's linears inside its forward pass, exactly as the linears get them (after the activation
// quantizer and learned clipping, as decoder_block_forward applies them), on the quantized path.
// A method that works in sub-steps (q/k/v, then o_proj on what the updated q/k/v produce, then gate/up,
// then down_proj) captures each group after updating the previous ones.
#pragma once

#include "harness/model/llama_model.h"

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace ptq::recon {

// The four inputs of a block's linears, in forward order.
enum class LinearGroup { kQkv, kOut, kGateUp, kDown };
inline constexpr LinearGroup kLinearGroups[] = {LinearGroup::kQkv, LinearGroup::kOut, LinearGroup::kGateUp,
                                                LinearGroup::kDown};

// The linears reading a group's input, as indices into DecoderBlock::linears().
std::vector<size_t> linears_of(LinearGroup group);

// The group's input over `x` ([n, T, hidden], the block's input; may rest on the host) as [n * T, width]
// on `block`'s device, computed `batch` rows at a time with activation quantizers `aq`.
at::Tensor linear_group_inputs(const DecoderBlock& block, const LlamaConfig& config, LinearGroup group, const at::Tensor& x,
                               const RopeTables& rope, const ActivationHook* aq, int64_t batch);

}  // namespace ptq::recon
