// What `cnn train` shows while it trains. On a terminal: a progress bar redrawn in place (epoch,
// iteration, percentage, images/s, running loss, time left) with the periodic loss lines scrolling
// above it. Anywhere else (a pipe, a log file, CI): only the periodic lines, with no control
// characters. --quiet: nothing.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdio>
#include <string>

namespace cnn::cli {

class ProgressDisplay {
 public:
  enum class Mode { bar, lines, quiet };
  // bar when `out` is a terminal whose TERM is not "dumb", else lines; quiet wins.
  static Mode detect(std::FILE* out, bool quiet);

  ProgressDisplay(Mode mode, std::FILE* out, std::size_t total_iterations, std::size_t epochs);

  // After each iteration: redraws the bar (at most ten times a second, and at the end).
  // `seconds` is training time so far, not counting evaluations; loss is this iteration's.
  void step(std::size_t iteration, std::size_t epoch, double loss, std::size_t images,
            double seconds);
  // A line for the log (periodic loss report, validation accuracy): printed above the bar on a
  // terminal, as it is elsewhere; nothing when quiet.
  void line(const std::string& text);
  // Removes the bar, so that what follows starts on a clean line.
  void finish();

 private:
  void draw(std::size_t iteration, std::size_t epoch, std::size_t images, double seconds);
  void clear();

  Mode mode_;
  std::FILE* out_;
  std::size_t total_, epochs_;
  double running_loss_ = 0.0, running_weight_ = 0.0;
  bool drawn_ = false;
  std::size_t last_iteration_ = 0, last_epoch_ = 1, last_images_ = 0;
  double last_seconds_ = 0.0;
  std::chrono::steady_clock::time_point last_draw_{};
};

// "1:05" or "1:02:03".
std::string format_duration(double seconds);

}  // namespace cnn::cli
