#include "signals.hpp"

#include <csignal>

namespace cnn::cli {

namespace {

// Lock-free atomics are the objects a signal handler may write besides volatile sig_atomic_t.
static_assert(std::atomic<bool>::is_always_lock_free && std::atomic<int>::is_always_lock_free);
std::atomic<bool> stop_requested{false};
std::atomic<int> received_signal{0};

extern "C" void on_stop_signal(int signal) {
  received_signal.store(signal);
  stop_requested.store(true);
}

}  // namespace

const std::atomic<bool>& install_stop_handlers() {
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  // SA_RESETHAND: the handler runs once, the next signal has its default effect (termination).
  // SA_RESTART: a write or read interrupted by the signal carries on.
  action.sa_flags = SA_RESETHAND | SA_RESTART;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  return stop_requested;
}

void uninstall_stop_handlers() {
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
}

int stop_signal() {
  return received_signal.load();
}

}  // namespace cnn::cli
