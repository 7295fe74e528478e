// Progress of long work: "phase i/N detail | elapsed, ETA". On a terminal one line is redrawn in place;
// when stderr is piped (Slurm logs, CI) plain lines are printed, at most one per `plain_interval_s`
// (plus the last). PTQ_PROGRESS=plain|tty|off overrides the detection.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace ptq {

class Progress {
 public:
  Progress(std::string phase, int64_t total, double plain_interval_s = 10.0, std::FILE* out = stderr);
  ~Progress();
  void update(int64_t done, const std::string& detail = "");
  void finish(const std::string& detail = "");  // final line, always printed (unless off)
  // A message of its own line (a warning), printed above the progress line even when progress is off.
  void note(const std::string& message);
  double elapsed_s() const;

 private:
  enum class Mode { kTty, kPlain, kOff };
  std::string line(int64_t done, const std::string& detail) const;
  std::string phase_;
  int64_t total_;
  double plain_interval_s_;
  std::FILE* out_;
  Mode mode_;
  bool finished_ = false;
  std::chrono::steady_clock::time_point start_;
  double last_print_s_ = -1e9;
};

}  // namespace ptq
