#include "methods/mppq/clip_search.h"

#include "harness/util/errors.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>
#include <limits>

namespace ptq::methods {

std::vector<double> default_clip_grid() {
  std::vector<double> g = {1.0 / (1.0 + std::exp(-4.0))};
  for (int i = 19; i >= 10; --i) g.push_back(i / 20.0);
  return g;
}

ClipSearchResult search_clip_ratio(const at::Tensor& weight, const at::Tensor& inputs, const quant::QuantizerSpec& spec,
                                   const std::vector<double>& grid) {
  if (grid.empty()) throw InputError("clipping pre-search: empty grid");
  if (inputs.dim() != 2 || inputs.size(1) != weight.size(1))
    throw InputError(fmt::format("clipping pre-search: inputs [{}] do not match the weight's {} input features",
                                 fmt::join(inputs.sizes(), ", "), weight.size(1)));
  at::NoGradGuard no_grad;
  const at::Tensor w = weight.to(at::kFloat), x = inputs.to(at::kFloat);
  const at::Tensor reference = at::matmul(x, w.t());
  ClipSearchResult r;
  double best = std::numeric_limits<double>::infinity();
  for (const double c : grid) {
    if (!(c > 0 && c <= 1)) throw InputError(fmt::format("clipping pre-search: ratio {} (expected 0 < c <= 1)", c));
    // LWC's form: xmax * sigmoid(logit), xmin * sigmoid(logit); c = 1 is the plain min/max.
    const at::Tensor logit = at::full({1, 1}, c < 1 ? std::log(c / (1 - c)) : 30.0);
    const at::Tensor wq = quant::fake_quant_weight(w, spec, logit, logit);
    const double e = (at::matmul(x, wq.t()) - reference).pow(2).sum().item<double>();
    r.errors.push_back(e);
    if (e < best) {
      best = e;
      r.ratio = c;
    }
  }
  return r;
}

std::vector<at::Tensor> sample_linear_inputs(const DecoderBlock& b, const LlamaConfig& c, const at::Tensor& x,
                                             const RopeTables& rope, int64_t max_tokens) {
  at::NoGradGuard no_grad;
  const int64_t t = x.size(1);
  const int64_t windows = std::max<int64_t>(1, std::min<int64_t>(x.size(0), (max_tokens + t - 1) / t));
  const at::Tensor xb = x.narrow(0, 0, windows).to(b.q_proj.weight.device(), true);  // x may be on the host
  const at::Tensor n1 = input_norm(b, c, xb);
  const at::Tensor context = attention_context(b, c, n1, rope);
  const at::Tensor h = xb + b.o_proj(context);
  const at::Tensor n2 = post_attention_norm(b, c, h);
  const at::Tensor inner = at::silu(b.gate_proj(n2)) * b.up_proj(n2);
  std::vector<at::Tensor> out;
  for (const at::Tensor& a : {n1, context, n2, inner}) {
    const at::Tensor rows = a.reshape({-1, a.size(-1)});
    out.push_back(rows.narrow(0, 0, std::min(max_tokens, rows.size(0))));
  }
  return out;
}

ActivationSite input_site_of_linear(size_t k) {
  using S = ActivationSite;
  static constexpr S sites[] = {S::kQkvInput,    S::kQkvInput,    S::kQkvInput, S::kOutInput,
                                S::kGateUpInput, S::kGateUpInput, S::kDownInput};
  return sites[k];
}

std::vector<double> presearch_clip_ratios(const DecoderBlock& block, const recon::BlockInputs& in,
                                          const quant::QuantizerSpec& spec, const std::vector<double>& grid,
                                          int64_t tokens) {
  const auto inputs = sample_linear_inputs(block, in.config, in.x_fp, in.rope, tokens);
  DecoderBlock b = block;  // shares the tensors; linears() needs a mutable block
  const auto ls = b.linears();
  std::vector<double> ratios;
  for (size_t k = 0; k < ls.size(); ++k)
    ratios.push_back(search_clip_ratio(ls[k]->weight, inputs[static_cast<size_t>(input_site_of_linear(k))], spec, grid).ratio);
  return ratios;
}

}  // namespace ptq::methods
