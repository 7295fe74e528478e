// LRQuant's logarithmic activation equivalent (LAE), the initial scales of its LET
// (quantize/RLQuant.py; research/omniquant_lrquant.md §2): s = clamp(act / log2(2 + act), 1e-5), act
// clamped to >= 1e-5, no weight term. GQA: s2 from the max of act over each K/V channel's query heads.
// Shifts start at 0, s3 at 1. LRQuant hands it to OmniQuant's parts as LetOptions::initialiser.
#pragma once

#include "methods/omniquant/let.h"

namespace ptq::methods {

LetParams lae_init(const DecoderBlock& block, const LlamaConfig& config, const LinearInputAbsMax& act, bool with_shift,
                   bool with_qk);

}  // namespace ptq::methods
