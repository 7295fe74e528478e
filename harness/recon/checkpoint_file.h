// The file of a reconstruction checkpoint (a block's parameters, a CBQ window): named tensors in a
// safetensors file whose metadata holds the run's key and the unit's first/last epoch losses. Written
// atomically; a file written under another key is refused.
#pragma once

#include "harness/recon/block_recon.h"

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace ptq::recon {

void write_checkpoint_file(const std::string& path, const ReconOptions& o,
                           const std::vector<std::pair<std::string, at::Tensor>>& tensors, const BlockLog& log);

// false when `path` does not exist; otherwise fills `tensors` and the losses of `log` (resumed = true).
bool read_checkpoint_file(const std::string& path, const ReconOptions& o, std::map<std::string, at::Tensor>& tensors,
                          BlockLog& log);

}  // namespace ptq::recon
