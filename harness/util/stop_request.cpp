#include "harness/util/stop_request.h"

#include <atomic>
#include <csignal>
#include <time.h>
#include <unistd.h>

namespace ptq {

namespace {

volatile std::sig_atomic_t g_stop_signal = 0;
volatile std::sig_atomic_t g_first_signal_s = 0;  // CLOCK_MONOTONIC seconds of the first signal
std::atomic<long> g_countdown{0};  // request_stop_at_check: polls left (0 = not armed)
std::atomic<int> g_countdown_signal{0};

std::sig_atomic_t monotonic_seconds() {  // clock_gettime is async-signal-safe
  struct timespec ts {};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::sig_atomic_t>(ts.tv_sec);
}

extern "C" void on_stop_signal(int sig) {
  // Asked again later: stop now. The same stop delivered twice at once (Slurm signalling both the batch
  // script, which forwards it, and the worker) is one request.
  if (g_stop_signal != 0) {
    if (monotonic_seconds() - g_first_signal_s >= 2) ::_exit(128 + sig);
    return;
  }
  g_first_signal_s = monotonic_seconds();
  g_stop_signal = sig;
}

}  // namespace

void install_stop_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;  // reads and waits in progress carry on; the loop polls the flag
  ::sigaction(SIGTERM, &sa, nullptr);
  ::sigaction(SIGUSR1, &sa, nullptr);
}

int stop_signal() {
  if (g_countdown.load() > 0 && --g_countdown == 0) g_stop_signal = g_countdown_signal.load();
  return g_stop_signal;
}

void throw_if_stop_requested(const std::string& where) {
  if (const int sig = stop_signal()) throw StopRequested(where + ": stopped on " + signal_name(sig));
}

void request_stop(int signal) { g_stop_signal = signal; }

void clear_stop_request() {
  g_countdown = 0;
  g_stop_signal = 0;
}

void request_stop_at_check(long n, int signal) {
  g_countdown_signal = signal;
  g_countdown = n;
}

std::string signal_name(int signal) {
  switch (signal) {
    case SIGTERM: return "SIGTERM";
    case SIGUSR1: return "SIGUSR1";
    case SIGINT: return "SIGINT";
    default: return "signal " + std::to_string(signal);
  }
}

}  // namespace ptq
