// The reconstruction engine's schedule: CBQ's sliding window over blocks (research/cbq_mppq.md §1.2.3);
// window 1, overlap 0 is block-wise reconstruction. Windows of `window` consecutive
// blocks moving by window - overlap (the last one may be shorter). A block is hardened when it leaves
// the window (before the next window starts), the last window's blocks at the end; a hardened block
// never re-enters a window.
#pragma once

#include <cstdint>
#include <vector>

namespace ptq::recon {

struct Window {
  std::vector<int64_t> blocks;    // optimised jointly
  std::vector<int64_t> hardened;  // hardened (folded for good) after this window
};

// InputError unless 1 <= window and 0 <= overlap < window.
std::vector<Window> window_schedule(int64_t num_blocks, int64_t window, int64_t overlap);

}  // namespace ptq::recon
