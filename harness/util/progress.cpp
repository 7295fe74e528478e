#include "harness/util/progress.h"

#include "harness/util/text.h"

#include <fmt/format.h>

#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace ptq {

Progress::Progress(std::string phase, int64_t total, double plain_interval_s, std::FILE* out)
    : phase_(std::move(phase)), total_(total), plain_interval_s_(plain_interval_s), out_(out),
      start_(std::chrono::steady_clock::now()) {
  const char* env = std::getenv("PTQ_PROGRESS");
  if (env != nullptr && std::strcmp(env, "off") == 0) mode_ = Mode::kOff;
  else if (env != nullptr && std::strcmp(env, "plain") == 0) mode_ = Mode::kPlain;
  else if (env != nullptr && std::strcmp(env, "tty") == 0) mode_ = Mode::kTty;
  else mode_ = ::isatty(::fileno(out)) ? Mode::kTty : Mode::kPlain;
}

Progress::~Progress() {
  if (!finished_ && mode_ == Mode::kTty) std::fputc('\n', out_);  // leave the cursor on a fresh line
}

double Progress::elapsed_s() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

std::string Progress::line(int64_t done, const std::string& detail) const {
  const double el = elapsed_s();
  std::string s = fmt::format("{} {}/{}", phase_, done, total_);
  if (!detail.empty()) s += "  " + detail;
  s += fmt::format("  | {}", human_duration(el));
  if (done > 0 && done < total_) s += fmt::format(", ETA {}", human_duration(el / done * (total_ - done)));
  return s;
}

void Progress::update(int64_t done, const std::string& detail) {
  if (mode_ == Mode::kOff) return;
  const double now = elapsed_s();
  if (mode_ == Mode::kTty) {
    fmt::print(out_, "\r\033[K{}", line(done, detail));
  } else {
    if (done < total_ && now - last_print_s_ < plain_interval_s_) return;
    fmt::print(out_, "{}\n", line(done, detail));
  }
  last_print_s_ = now;
  std::fflush(out_);
}

void Progress::note(const std::string& message) {
  if (mode_ == Mode::kTty) fmt::print(out_, "\r\033[K{}\n", message);
  else fmt::print(out_, "{}\n", message);
  std::fflush(out_);
}

void Progress::finish(const std::string& detail) {
  finished_ = true;
  if (mode_ == Mode::kOff) return;
  const std::string s = fmt::format("{} done {}/{}{}  | {}", phase_, total_, total_, detail.empty() ? "" : "  " + detail,
                                    human_duration(elapsed_s()));
  if (mode_ == Mode::kTty) fmt::print(out_, "\r\033[K{}\n", s);
  else fmt::print(out_, "{}\n", s);
  std::fflush(out_);
}

}  // namespace ptq
