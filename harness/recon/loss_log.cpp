#include "harness/recon/loss_log.h"

#include "harness/util/errors.h"

#include <fmt/format.h>

#include <cmath>
#include <cstring>

namespace ptq::recon {

LossLog::LossLog(const std::string& path) {
  if (path.empty()) return;
  out_.open(path, std::ios::app);
  if (!out_) throw InputError(fmt::format("{}: cannot open the loss log for appending ({})", path, std::strerror(errno)));
}

void LossLog::step(const std::string& unit, int epoch, int64_t step, double loss, double recon_loss) {
  if (!out_.is_open()) return;
  out_ << fmt::format(R"({{"unit": "{}", "epoch": {}, "step": {}, "loss": {:.9g})", unit, epoch, step, loss);
  if (!std::isnan(recon_loss) && recon_loss != loss) out_ << fmt::format(R"(, "recon_loss": {:.9g})", recon_loss);
  out_ << "}\n";
}

void start_log_file(const std::string& path, const std::string& option) {
  if (path.empty()) return;
  std::ofstream out(path, std::ios::trunc);
  if (!out) throw InputError(fmt::format("{} {}: cannot create the file ({})", option, path, std::strerror(errno)));
}

}  // namespace ptq::recon
