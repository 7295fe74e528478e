// The per-step loss log of reconstruction training (quantize --log-losses FILE): one JSON line per
// optimiser step, {"unit": "block 3", "epoch": 0, "step": 5, "loss": ..., "recon_loss": ...}, appended
// as the steps run. "loss" is the value back-propagated; "recon_loss" the reconstruction term without
// regularisers (present only when it differs). Losses are written with 9 significant digits, enough to
// round-trip an fp32 value, so a side-by-side comparison with a reference implementation can find the
// first step where two runs part.
#pragma once

#include <cstdint>
#include <fstream>
#include <string>

namespace ptq::recon {

class LossLog {
 public:
  // Opens `path` for appending; "" = a log that writes nothing. InputError naming the path when it
  // cannot be opened.
  explicit LossLog(const std::string& path);
  void step(const std::string& unit, int epoch, int64_t step, double loss, double recon_loss);

 private:
  std::ofstream out_;
};

// Creates (or truncates) the file a run will write to: the CLI calls it once per such option, before the
// model loads. InputError naming `option` and the path when it cannot be created. "" = nothing to do.
void start_log_file(const std::string& path, const std::string& option);

}  // namespace ptq::recon
