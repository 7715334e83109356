#include "progress.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>

namespace cnn::cli {

ProgressDisplay::Mode ProgressDisplay::detect(std::FILE* out, bool quiet) {
  if (quiet) return Mode::quiet;
  const char* term = std::getenv("TERM");
  const bool terminal = ::isatty(::fileno(out)) == 1 && term != nullptr &&
                        std::strcmp(term, "dumb") != 0 && std::strlen(term) > 0;
  return terminal ? Mode::bar : Mode::lines;
}

ProgressDisplay::ProgressDisplay(Mode mode, std::FILE* out, std::size_t total_iterations,
                                 std::size_t epochs)
    : mode_(mode), out_(out), total_(total_iterations), epochs_(std::max<std::size_t>(1, epochs)) {}

namespace {

// Decimal digits of value (1 for 0).
int digit_count(std::size_t value) {
  int digits = 1;
  for (; value >= 10; value /= 10) ++digits;
  return digits;
}

}  // namespace

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const auto total = static_cast<long long>(std::llround(seconds));
  char text[32];
  if (total >= 3600) {
    std::snprintf(text, sizeof text, "%lld:%02lld:%02lld", total / 3600, total / 60 % 60,
                  total % 60);
  } else {
    std::snprintf(text, sizeof text, "%lld:%02lld", total / 60, total % 60);
  }
  return text;
}

void ProgressDisplay::step(std::size_t iteration, std::size_t epoch, double loss,
                           std::size_t images, double seconds) {
  if (mode_ != Mode::bar) return;
  // Running loss: exponential moving average over about the last 50 iterations, bias-corrected.
  if (std::isfinite(loss)) {
    running_loss_ = 0.98 * running_loss_ + 0.02 * loss;
    running_weight_ = 0.98 * running_weight_ + 0.02;
  }
  last_iteration_ = iteration;
  last_epoch_ = epoch;
  last_images_ = images;
  last_seconds_ = seconds;
  const auto now = std::chrono::steady_clock::now();
  if (iteration == total_ || now - last_draw_ >= std::chrono::milliseconds(100)) {
    last_draw_ = now;
    draw(iteration, epoch, images, seconds);
  }
}

void ProgressDisplay::draw(std::size_t iteration, std::size_t epoch, std::size_t images,
                           double seconds) {
  int columns = 80;
  winsize size{};
  if (::ioctl(::fileno(out_), TIOCGWINSZ, &size) == 0 && size.ws_col > 0) columns = size.ws_col;
  const double fraction =
      total_ == 0 ? 1.0 : static_cast<double>(iteration) / static_cast<double>(total_);
  const double rate = seconds > 0 ? static_cast<double>(images) / seconds : 0.0;
  const double eta = iteration > 0 ? seconds / static_cast<double>(iteration) *
                                         static_cast<double>(total_ - iteration)
                                   : NAN;
  // Every field has a fixed width (counters padded to the width of their total), so that the bar
  // keeps its length and place as the numbers grow: 7 digits of images/s, a loss up to 99.9999,
  // a time left up to 9:59:59.
  const int total_digits = digit_count(total_), epoch_digits = digit_count(epochs_);
  char tail[200];
  std::snprintf(tail, sizeof tail, " %3.0f%%  it %*zu/%zu  %7.0f img/s  loss %7.4f  ETA %7s",
                100 * fraction, total_digits, iteration, total_, rate,
                running_weight_ > 0 ? running_loss_ / running_weight_ : NAN,
                format_duration(eta).c_str());
  char head[64];
  std::snprintf(head, sizeof head, "epoch %*zu/%zu ", epoch_digits, std::min(epoch, epochs_),
                epochs_);
  const int bar_width =
      std::clamp(columns - 1 - static_cast<int>(std::strlen(head) + std::strlen(tail)) - 2, 0, 40);
  // Built with snprintf: GCC 12 warns falsely (-Wrestrict) about string concatenation here.
  char bar[48] = "";
  if (bar_width >= 10) {
    const int filled = static_cast<int>(fraction * bar_width);
    bar[0] = '[';
    for (int i = 0; i < bar_width; ++i) bar[1 + i] = i < filled ? '#' : '.';
    bar[1 + bar_width] = ']';
    bar[2 + bar_width] = '\0';
  }
  char line[320];
  std::snprintf(line, sizeof line, "%s%s%s", head, bar, tail);
  std::string text = line;
  if (static_cast<int>(text.size()) > columns - 1) {
    text.resize(static_cast<std::size_t>(std::max(0, columns - 1)));
  }
  // \r back to the start of the line, ESC[K clears what an earlier, longer text left.
  std::fprintf(out_, "\r%s\x1b[K", text.c_str());
  std::fflush(out_);
  drawn_ = true;
}

void ProgressDisplay::clear() {
  if (drawn_) {
    std::fputs("\r\x1b[K", out_);
    drawn_ = false;
  }
}

void ProgressDisplay::line(const std::string& text) {
  if (mode_ == Mode::quiet) return;
  clear();
  std::fprintf(out_, "%s\n", text.c_str());
  if (mode_ == Mode::bar && last_iteration_ > 0 && last_iteration_ < total_) {
    draw(last_iteration_, last_epoch_, last_images_, last_seconds_);
  }
  std::fflush(out_);
}

void ProgressDisplay::finish() {
  clear();
  std::fflush(out_);
}

}  // namespace cnn::cli
