#include "harness/recon/window_schedule.h"

#include "harness/util/errors.h"

#include <fmt/format.h>

#include <algorithm>

namespace ptq::recon {

std::vector<Window> window_schedule(int64_t n, int64_t window, int64_t overlap) {
  if (window < 1 || overlap < 0 || overlap >= window)
    throw InputError(fmt::format("reconstruction window {} with overlap {} (expected window >= 1 and 0 <= overlap < window)", window, overlap));
  std::vector<Window> out;
  if (n <= 0) return out;
  const int64_t w = std::min(window, n), stride = std::max<int64_t>(1, w - std::min(overlap, w - 1));
  int64_t hardened_up_to = 0;  // blocks [0, hardened_up_to) are final
  for (int64_t start = 0;; start += stride) {
    Window win;
    for (int64_t b = start; b < std::min(start + w, n); ++b) win.blocks.push_back(b);
    const bool last = start + w >= n;
    const int64_t harden_end = last ? n : start + stride;  // the blocks the next window leaves behind
    for (int64_t b = hardened_up_to; b < harden_end; ++b) win.hardened.push_back(b);
    hardened_up_to = harden_end;
    out.push_back(win);
    if (last) break;
  }
  return out;
}

}  // namespace ptq::recon
