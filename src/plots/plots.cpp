#include "cnn/plots/plots.hpp"

#include <cairo.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <limits>
#include <memory>

namespace cnn {

namespace {

constexpr const char* kFont = "DejaVu Sans";

struct Rgb {
  double r, g, b;
};
constexpr Rgb kBlack{0.1, 0.1, 0.1}, kGrid{0.88, 0.88, 0.88}, kLossRaw{0.62, 0.75, 0.90},
    kLossSmooth{0.05, 0.30, 0.65}, kAccuracy{0.85, 0.40, 0.05}, kWrong{0.85, 0.1, 0.1},
    kSuggested{0.15, 0.60, 0.25};

// A cairo image surface and context; write() checks every cairo status on the way to the file.
class Canvas {
 public:
  Canvas(int width, int height)
      : surface_(cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, height),
                 cairo_surface_destroy),
        cr_(cairo_create(surface_.get()), cairo_destroy) {
    cairo_set_source_rgb(cr(), 1, 1, 1);
    cairo_paint(cr());
    cairo_select_font_face(cr(), kFont, CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  }
  cairo_t* cr() { return cr_.get(); }

  void color(const Rgb& c) { cairo_set_source_rgb(cr(), c.r, c.g, c.b); }

  // Selects the font at this size and measures s with it (between a save and a restore).
  cairo_text_extents_t measure(const std::string& s, double size, bool bold) {
    cairo_select_font_face(cr(), kFont, CAIRO_FONT_SLANT_NORMAL,
                           bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr(), size);
    cairo_text_extents_t extents;
    cairo_text_extents(cr(), s.c_str(), &extents);
    return extents;
  }

  enum class Align { left, center, right };
  // Text with its baseline at y, aligned at x; rotated by 90° anticlockwise when vertical.
  void text(const std::string& s, double x, double y, double size, Align align = Align::left,
            bool bold = false, bool vertical = false) {
    cairo_save(cr());
    const cairo_text_extents_t extents = measure(s, size, bold);
    double shift = 0.0;
    if (align == Align::center) shift = extents.x_advance / 2;
    if (align == Align::right) shift = extents.x_advance;
    cairo_translate(cr(), x, y);
    if (vertical) cairo_rotate(cr(), -M_PI / 2);
    cairo_move_to(cr(), -shift, 0);
    cairo_show_text(cr(), s.c_str());
    cairo_restore(cr());
  }

  // How far text of this size advances.
  double text_width(const std::string& s, double size, bool bold = false) {
    cairo_save(cr());
    const cairo_text_extents_t extents = measure(s, size, bold);
    cairo_restore(cr());
    return extents.x_advance;
  }

  // s as it is when it fits max_width, else cut (shorten_class_name) to the most characters that
  // fit with the '.' that marks the cut.
  std::string fitted(const std::string& s, double size, double max_width, bool bold = false) {
    std::string shown = shorten_class_name(s, display_width(s));
    for (std::size_t keep = display_width(shown); keep > 1; --keep) {
      shown = shorten_class_name(s, keep);
      if (text_width(shown, size, bold) <= max_width) return shown;
    }
    return shorten_class_name(s, 1);
  }

  void line(double x0, double y0, double x1, double y1, double width) {
    cairo_set_line_width(cr(), width);
    cairo_move_to(cr(), x0, y0);
    cairo_line_to(cr(), x1, y1);
    cairo_stroke(cr());
  }

  void write(const std::filesystem::path& path) {
    cairo_surface_flush(surface_.get());
    cairo_status_t status = cairo_status(cr());
    if (status == CAIRO_STATUS_SUCCESS) {
      status = cairo_surface_write_to_png(surface_.get(), path.c_str());
    }
    if (status != CAIRO_STATUS_SUCCESS) {
      throw PlotError(path.string() +
                      ": cannot draw or write the picture: " + cairo_status_to_string(status));
    }
  }

 private:
  std::unique_ptr<cairo_surface_t, decltype(&cairo_surface_destroy)> surface_;
  std::unique_ptr<cairo_t, decltype(&cairo_destroy)> cr_;
};

// A "nice" tick step (1, 2 or 5 times a power of ten) giving about `ticks` intervals.
double nice_step(double range, int ticks) {
  if (!(range > 0)) return 1.0;
  const double raw = range / ticks;
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  const double fraction = raw / power;
  return (fraction < 1.5 ? 1 : fraction < 3.5 ? 2 : fraction < 7.5 ? 5 : 10) * power;
}

std::string format_tick(double value, double step) {
  char text[32];
  const int decimals = step >= 1 ? 0 : static_cast<int>(std::ceil(-std::log10(step) - 1e-9));
  std::snprintf(text, sizeof text, "%.*f", decimals, value);
  return text;
}

std::string format_count(double value) {
  char text[32];
  if (value >= 10000 && std::fmod(value, 1000) == 0) {
    std::snprintf(text, sizeof text, "%.0fk", value / 1000);
  } else {
    std::snprintf(text, sizeof text, "%.0f", value);
  }
  return text;
}

// A log axis's power of ten, exactly (pow(10, e) for an integer exponent e).
int decade_of(double power) {
  return static_cast<int>(std::lround(std::log10(power)));
}

// The grid lines and labels of a logarithmic axis: a line and a label at each major tick, a short
// mark on the axis at each minor one. position maps a value to pixels along the axis; vertical
// says the axis is the left one (labels to its left) rather than the bottom one.
void draw_log_axis(Canvas& canvas, const LogAxis& axis,
                   const std::function<double(double)>& position, bool vertical, double left,
                   double right, double top, double bottom, const Rgb& label_color) {
  for (const double tick : axis.minor_ticks()) {
    const double at = position(tick);
    canvas.color(kGrid);
    if (vertical) {
      canvas.line(left, at, left + 6, at, 1);
    } else {
      canvas.line(at, bottom - 6, at, bottom, 1);
    }
  }
  for (const double tick : axis.major_ticks()) {
    const double at = position(tick);
    canvas.color(kGrid);
    if (vertical) {
      canvas.line(left, at, right, at, 1);
      canvas.color(label_color);
      canvas.text(format_log_tick(tick), left - 8, at + 5, 14, Canvas::Align::right);
    } else {
      canvas.line(at, top, at, bottom, 1);
      canvas.color(label_color);
      canvas.text(format_log_tick(tick), at, bottom + 22, 14, Canvas::Align::center);
    }
  }
}

// A polyline through the points (x[i], y[i]), clipped by the caller.
void polyline(cairo_t* cr, const std::vector<double>& x, const std::vector<double>& y) {
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (i == 0) {
      cairo_move_to(cr, x[i], y[i]);
    } else {
      cairo_line_to(cr, x[i], y[i]);
    }
  }
  cairo_stroke(cr);
}

// The plot area's frame, then a clip to it for the curves (undone by cairo_restore).
void frame_and_clip(Canvas& canvas, double left, double top, double right, double bottom) {
  cairo_t* cr = canvas.cr();
  canvas.color(kBlack);
  cairo_set_line_width(cr, 1.5);
  cairo_rectangle(cr, left, top, right - left, bottom - top);
  cairo_stroke(cr);
  cairo_save(cr);
  cairo_rectangle(cr, left, top, right - left, bottom - top);
  cairo_clip(cr);
}

// A loss curve as both charts draw it: the per-step values thin and light, their moving average
// thick on top (the same x positions).
void loss_curves(Canvas& canvas, const std::vector<double>& x, const std::vector<double>& raw,
                 const std::vector<double>& smoothed) {
  cairo_t* cr = canvas.cr();
  canvas.color(kLossRaw);
  cairo_set_line_width(cr, 1.2);
  polyline(cr, x, raw);
  canvas.color(kLossSmooth);
  cairo_set_line_width(cr, 2.5);
  polyline(cr, x, smoothed);
}

}  // namespace

LogAxis LogAxis::covering(const std::vector<double>& values) {
  double smallest = std::numeric_limits<double>::infinity(), largest = 0.0;
  for (const double value : values) {
    if (!(value > 0.0) || !std::isfinite(value)) continue;
    smallest = std::min(smallest, value);
    largest = std::max(largest, value);
  }
  if (!(largest > 0.0)) return LogAxis{};
  // The tolerance keeps an exact power of ten (0.1, whose log10 may round a hair off) at its own
  // decade instead of widening the axis by one.
  const double low = std::floor(std::log10(smallest) + 1e-9);
  double high = std::ceil(std::log10(largest) - 1e-9);
  if (high <= low) high = low + 1;
  return LogAxis{std::pow(10.0, low), std::pow(10.0, high)};
}

double LogAxis::fraction(double value) const {
  if (!(value > 0.0)) return 0.0;
  const double at = (std::log10(value) - std::log10(low)) / (std::log10(high) - std::log10(low));
  // An infinite value would give cairo an infinite coordinate (an error that spoils the whole
  // picture); anything this far out lies beyond the clipped chart anyway.
  return std::clamp(at, -1.0, 2.0);
}

std::vector<double> LogAxis::major_ticks() const {
  const int first = decade_of(low), last = decade_of(high);
  std::vector<double> ticks;
  for (int e = first; e <= last; ++e) ticks.push_back(std::pow(10.0, e));
  if (last - first == 1) {
    ticks.push_back(2 * ticks[0]);
    ticks.push_back(5 * ticks[0]);
    std::sort(ticks.begin(), ticks.end());
  }
  return ticks;
}

std::vector<double> LogAxis::minor_ticks() const {
  const int first = decade_of(low), last = decade_of(high);
  std::vector<double> ticks;
  for (int e = first; e < last; ++e) {
    for (int m = 2; m <= 9; ++m) {
      if (last - first == 1 && (m == 2 || m == 5)) continue;  // labelled, in major_ticks
      ticks.push_back(m * std::pow(10.0, e));
    }
  }
  return ticks;
}

std::string format_log_tick(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", value);
  return text;
}

std::vector<double> centred_moving_average(const std::vector<double>& values,
                                           std::size_t half_window) {
  // Each window summed afresh (windows are short): no running sum to lose precision over a long
  // run, and a non-finite value spoils only the windows that hold it.
  const std::size_t n = values.size();
  std::vector<double> averages(n);
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t half = std::min({half_window, i, n - 1 - i});
    double sum = 0.0;
    for (std::size_t j = i - half; j <= i + half; ++j) sum += values[j];
    averages[i] = sum / static_cast<double>(2 * half + 1);
  }
  return averages;
}

void plot_loss(const std::filesystem::path& path, const std::vector<MetricsRow>& rows,
               const std::string& title) {
  std::vector<double> steps, losses;
  for (const MetricsRow& row : rows) {
    if (!std::isfinite(row.loss)) continue;
    steps.push_back(static_cast<double>(row.step));
    losses.push_back(row.loss);
  }
  if (losses.empty()) throw PlotError(path.string() + ": no finite training loss to plot");

  const int width = 960, height = 600;
  const double left = 90, right = width - 100.0, top = 70, bottom = height - 80.0;
  Canvas canvas(width, height);
  cairo_t* cr = canvas.cr();

  // x: iterations from 0 to the last step; y (left): loss on a log axis, so that the slow
  // improvement of a long run's later part shows beside the fast fall of its start; y (right):
  // accuracy.
  const double x_max = static_cast<double>(rows.back().step);
  const double x_step = nice_step(x_max, 8);
  const double x_end = std::max(x_step, std::ceil(x_max / x_step) * x_step);
  const LogAxis loss_axis = LogAxis::covering(losses);
  bool have_accuracy = false;
  double accuracy_min = 1.0;
  for (const MetricsRow& row : rows) {
    if (row.validation_accuracy) {
      have_accuracy = true;
      accuracy_min = std::min(accuracy_min, *row.validation_accuracy);
    }
  }
  // Accuracy axis from a round value below the lowest accuracy up to 1.
  const double accuracy_begin = std::clamp(std::floor(accuracy_min * 10 - 1e-9) / 10, 0.0, 0.9);
  const double accuracy_step = nice_step(1.0 - accuracy_begin, 5);
  const auto px = [&](double step) { return left + (right - left) * step / x_end; };
  const auto py_loss = [&](double loss) {
    return bottom - (bottom - top) * loss_axis.fraction(loss);
  };
  const auto py_accuracy = [&](double accuracy) {
    return bottom - (bottom - top) * (accuracy - accuracy_begin) / (1.0 - accuracy_begin);
  };

  // Grid and ticks.
  for (double x = 0; x <= x_end + x_step / 2; x += x_step) {
    canvas.color(kGrid);
    canvas.line(px(x), top, px(x), bottom, 1);
    canvas.color(kBlack);
    canvas.text(format_count(x), px(x), bottom + 22, 14, Canvas::Align::center);
  }
  draw_log_axis(canvas, loss_axis, py_loss, true, left, right, top, bottom, kLossSmooth);
  if (have_accuracy) {
    canvas.color(kAccuracy);
    for (double a = accuracy_begin; a <= 1.0 + accuracy_step / 2; a += accuracy_step) {
      canvas.text(format_tick(a, accuracy_step), right + 8, py_accuracy(a) + 5, 14);
    }
  }
  frame_and_clip(canvas, left, top, right, bottom);

  // Raw loss, then its centred moving average (about 2 % of the logged steps either side): a
  // centred window does not trail the falling curve of the first iterations, as an exponential
  // average (even bias-corrected) does by its whole memory.
  const std::size_t half_window = std::clamp<std::size_t>(losses.size() / 50, 1, 25);
  const std::vector<double> smoothed = centred_moving_average(losses, half_window);
  std::vector<double> xs, raw_ys, smooth_ys;
  for (std::size_t i = 0; i < losses.size(); ++i) {
    xs.push_back(px(steps[i]));
    raw_ys.push_back(py_loss(losses[i]));
    smooth_ys.push_back(py_loss(smoothed[i]));
  }
  loss_curves(canvas, xs, raw_ys, smooth_ys);
  if (have_accuracy) {
    std::vector<double> ax, ay;
    for (const MetricsRow& row : rows) {
      if (!row.validation_accuracy) continue;
      ax.push_back(px(static_cast<double>(row.step)));
      ay.push_back(py_accuracy(*row.validation_accuracy));
    }
    canvas.color(kAccuracy);
    cairo_set_line_width(cr, 2);
    polyline(cr, ax, ay);
    for (std::size_t i = 0; i < ax.size(); ++i) {
      cairo_arc(cr, ax[i], ay[i], 4.5, 0, 2 * M_PI);
      cairo_fill(cr);
    }
  }
  cairo_restore(cr);

  // Labels, title and legend.
  canvas.color(kBlack);
  canvas.text(title, width / 2.0, 36, 20, Canvas::Align::center, true);
  canvas.text("iteration (mini-batches)", (left + right) / 2, height - 30, 15,
              Canvas::Align::center);
  canvas.color(kLossSmooth);
  canvas.text("training loss (cross-entropy, log scale)", 28, (top + bottom) / 2, 15,
              Canvas::Align::center, false, true);
  if (have_accuracy) {
    canvas.color(kAccuracy);
    canvas.text("validation accuracy", width - 24.0, (top + bottom) / 2, 15, Canvas::Align::center,
                false, true);
  }
  const double legend_x = right - 250, legend_y = top + 22;
  const auto legend = [&](double y, const Rgb& c, double line_width, const std::string& label,
                          bool dot) {
    canvas.color(c);
    canvas.line(legend_x, y - 5, legend_x + 30, y - 5, line_width);
    if (dot) {
      cairo_arc(cr, legend_x + 15, y - 5, 4.5, 0, 2 * M_PI);
      cairo_fill(cr);
    }
    canvas.color(kBlack);
    canvas.text(label, legend_x + 40, y, 14);
  };
  legend(legend_y, kLossRaw, 1.2, "loss per logged step", false);
  legend(legend_y + 22, kLossSmooth, 2.5, "loss, centred moving average", false);
  if (have_accuracy) legend(legend_y + 44, kAccuracy, 2, "validation accuracy", true);
  canvas.write(path);
}

void plot_lr_find(const std::filesystem::path& path, const LrFindResult& result,
                  const std::string& title) {
  std::vector<double> rates, losses, smoothed;
  for (const LrFindPoint& point : result.points) {
    if (!std::isfinite(point.loss) || !std::isfinite(point.smoothed)) continue;
    rates.push_back(point.learning_rate);
    losses.push_back(point.loss);
    smoothed.push_back(point.smoothed);
  }
  if (rates.empty()) throw PlotError(path.string() + ": no finite loss to plot");

  const int width = 960, height = 600;
  const double left = 90, right = width - 40.0, top = 70, bottom = height - 80.0;
  Canvas canvas(width, height);
  cairo_t* cr = canvas.cr();
  const LogAxis rate_axis = LogAxis::covering(rates);
  // The loss axis covers the moving average (the curve read for the suggestion) and the raw
  // losses up to 10 times its highest value: a diverging last batch would squash the rest.
  const double ceiling = 10 * *std::max_element(smoothed.begin(), smoothed.end());
  std::vector<double> shown = smoothed;
  for (const double loss : losses) shown.push_back(std::min(loss, ceiling));
  const LogAxis loss_axis = LogAxis::covering(shown);
  const auto px = [&](double rate) { return left + (right - left) * rate_axis.fraction(rate); };
  const auto py = [&](double loss) { return bottom - (bottom - top) * loss_axis.fraction(loss); };

  draw_log_axis(canvas, rate_axis, px, false, left, right, top, bottom, kBlack);
  draw_log_axis(canvas, loss_axis, py, true, left, right, top, bottom, kLossSmooth);
  frame_and_clip(canvas, left, top, right, bottom);
  std::vector<double> xs, raw_ys, smooth_ys;
  for (std::size_t i = 0; i < rates.size(); ++i) {
    xs.push_back(px(rates[i]));
    raw_ys.push_back(py(losses[i]));
    smooth_ys.push_back(py(smoothed[i]));
  }
  loss_curves(canvas, xs, raw_ys, smooth_ys);
  // The minimum of the average (a dot) and the suggested rate (a vertical line).
  if (result.minimum < result.points.size()) {
    const LrFindPoint& lowest = result.points[result.minimum];
    canvas.color(kAccuracy);
    cairo_arc(cr, px(lowest.learning_rate), py(lowest.smoothed), 5, 0, 2 * M_PI);
    cairo_fill(cr);
  }
  const bool have_suggestion = result.suggested > 0;
  if (have_suggestion) {
    canvas.color(kSuggested);
    canvas.line(px(result.suggested), top, px(result.suggested), bottom, 2);
  }
  cairo_restore(cr);

  canvas.color(kBlack);
  canvas.text(title, width / 2.0, 36, 20, Canvas::Align::center, true);
  canvas.text("learning rate (log scale)", (left + right) / 2, height - 30, 15,
              Canvas::Align::center);
  canvas.color(kLossSmooth);
  canvas.text("training loss (log scale)", 28, (top + bottom) / 2, 15, Canvas::Align::center, false,
              true);
  const double legend_x = left + 20, legend_y = top + 22;
  const auto legend = [&](double y, const Rgb& c, double line_width, const std::string& label) {
    canvas.color(c);
    canvas.line(legend_x, y - 5, legend_x + 30, y - 5, line_width);
    canvas.color(kBlack);
    canvas.text(label, legend_x + 40, y, 14);
  };
  legend(legend_y, kLossRaw, 1.2, "loss of each step");
  legend(legend_y + 22, kLossSmooth, 2.5, "loss, moving average (dot: its minimum)");
  if (have_suggestion) {
    char rate[32];
    std::snprintf(rate, sizeof rate, "%.2g", result.suggested);  // as lr-find prints it
    legend(legend_y + 44, kSuggested, 2,
           std::string("suggested rate ") + rate + " (a tenth of the minimum's)");
  }
  canvas.write(path);
}

namespace {

// The name of class c for pictures: class_names[c], or the number when there are none.
std::string class_label(int c, const std::vector<std::string>& class_names) {
  return class_names.empty() ? std::to_string(c) : class_names[static_cast<std::size_t>(c)];
}

// A cairo surface holding image's pixels as RGB (grey images inverted when ink on paper).
std::unique_ptr<cairo_surface_t, decltype(&cairo_surface_destroy)> thumbnail(const Image& image,
                                                                             GreyDrawing grey) {
  std::unique_ptr<cairo_surface_t, decltype(&cairo_surface_destroy)> surface(
      cairo_image_surface_create(CAIRO_FORMAT_RGB24, static_cast<int>(image.width),
                                 static_cast<int>(image.height)),
      cairo_surface_destroy);
  cairo_surface_flush(surface.get());
  unsigned char* data = cairo_image_surface_get_data(surface.get());
  const auto stride = static_cast<std::size_t>(cairo_image_surface_get_stride(surface.get()));
  if (data == nullptr) return surface;  // an error surface: drawing it sets an error status
  const bool invert = image.channels == 1 && grey == GreyDrawing::ink_on_paper;
  for (std::size_t y = 0; y < image.height; ++y) {
    auto* row = reinterpret_cast<std::uint32_t*>(data + y * stride);
    for (std::size_t x = 0; x < image.width; ++x) {
      std::uint32_t r = image.at(0, y, x), g = r, b = r;
      if (image.channels == 3) g = image.at(1, y, x), b = image.at(2, y, x);
      if (invert) r = g = b = 255 - r;
      row[x] = (r << 16) | (g << 8) | b;  // CAIRO_FORMAT_RGB24: 0xXXRRGGBB in native order
    }
  }
  cairo_surface_mark_dirty(surface.get());
  return surface;
}

}  // namespace

void plot_predictions(const std::filesystem::path& path, const std::vector<PredictedImage>& images,
                      std::size_t columns, const std::string& title,
                      const std::vector<std::string>& given_names, GreyDrawing grey) {
  if (images.empty() || columns == 0) throw PlotError(path.string() + ": no images to show");
  // Names that are the numbers ("0", "1", ... of IDX data) are drawn as numbers are: one line.
  bool numbered = true;
  for (std::size_t c = 0; c < given_names.size(); ++c) {
    numbered = numbered && given_names[c] == std::to_string(c);
  }
  const std::vector<std::string> no_names;
  const std::vector<std::string>& class_names = numbered ? no_names : given_names;
  std::size_t largest_side = 1, box_w = 0, box_h = 0;
  bool wrong_with_names = false;
  for (std::size_t i = 0; i < images.size(); ++i) {
    const PredictedImage& p = images[i];
    const Image& image = p.image;
    if ((image.channels != 1 && image.channels != 3) || image.width == 0 || image.height == 0 ||
        image.width > kMaxImageSide || image.height > kMaxImageSide ||
        image.pixels.size() != image.channels * image.height * image.width) {
      throw PlotError(path.string() + ": image " + std::to_string(i) + " is not an image of 1 or " +
                      "3 channels whose pixels match its size");
    }
    for (const int c : {p.label, p.predicted}) {
      if (c < 0 || (!given_names.empty() && static_cast<std::size_t>(c) >= given_names.size())) {
        throw PlotError(path.string() + ": image " + std::to_string(i) + " has class " +
                        std::to_string(c) + ", which has no name (" +
                        std::to_string(given_names.size()) + " class names)");
      }
    }
    largest_side = std::max({largest_side, image.width, image.height});
    wrong_with_names = wrong_with_names || (!class_names.empty() && p.predicted != p.label);
  }
  // Whole-pixel enlargement up to 96 pixels a side (28x28 and 32x32 three times), else shrunk.
  constexpr double kBox = 96;
  const double scale = largest_side <= 96 ? std::floor(kBox / static_cast<double>(largest_side))
                                          : kBox / static_cast<double>(largest_side);
  for (const PredictedImage& p : images) {
    box_w = std::max(box_w, static_cast<std::size_t>(std::ceil(scale * p.image.width)));
    box_h = std::max(box_h, static_cast<std::size_t>(std::ceil(scale * p.image.height)));
  }
  const double cell_w = std::max(100.0, static_cast<double>(box_w) + 16);
  // Named wrong predictions get a second caption line for the true class.
  const double cell_h = static_cast<double>(box_h) + 40 + (wrong_with_names ? 18 : 0);
  const double margin = 20, header = 70;
  const std::size_t rows = (images.size() + columns - 1) / columns;
  const int width = static_cast<int>(2 * margin + cell_w * static_cast<double>(columns));
  const int height = static_cast<int>(header + margin + cell_h * static_cast<double>(rows));
  Canvas canvas(width, height);
  cairo_t* cr = canvas.cr();
  std::size_t wrong = 0;
  for (const PredictedImage& p : images) wrong += p.predicted != p.label ? 1 : 0;

  for (std::size_t i = 0; i < images.size(); ++i) {
    const PredictedImage& p = images[i];
    const double x0 = margin + cell_w * static_cast<double>(i % columns);
    const double y0 = header + cell_h * static_cast<double>(i / columns);
    const double image_w = scale * static_cast<double>(p.image.width);
    const double image_h = scale * static_cast<double>(p.image.height);
    const double ix = x0 + (cell_w - image_w) / 2, iy = y0 + 4;
    const auto pixels = thumbnail(p.image, grey);
    cairo_save(cr);
    cairo_rectangle(cr, ix, iy, image_w, image_h);
    cairo_clip(cr);
    cairo_translate(cr, ix, iy);
    cairo_scale(cr, scale, scale);
    cairo_set_source_surface(cr, pixels.get(), 0, 0);
    // Enlarged: every pixel a sharp square; shrunk: averaged.
    cairo_pattern_set_filter(cairo_get_source(cr),
                             scale >= 1 ? CAIRO_FILTER_NEAREST : CAIRO_FILTER_GOOD);
    cairo_paint(cr);
    cairo_restore(cr);
    const bool correct = p.predicted == p.label;
    canvas.color(correct ? kGrid : kWrong);
    cairo_set_line_width(cr, correct ? 1 : 3);
    cairo_rectangle(cr, ix - 1.5, iy - 1.5, image_w + 3, image_h + 3);
    cairo_stroke(cr);
    canvas.color(correct ? kBlack : kWrong);
    const double caption_y = iy + image_h + 24, room = cell_w - 6;
    const std::string predicted = class_label(p.predicted, class_names);
    if (class_names.empty()) {
      const std::string caption =
          correct ? predicted : predicted + " (true " + std::to_string(p.label) + ")";
      canvas.text(caption, x0 + cell_w / 2, caption_y, 17, Canvas::Align::center, !correct);
    } else {
      canvas.text(canvas.fitted(predicted, 15, room, !correct), x0 + cell_w / 2, caption_y, 15,
                  Canvas::Align::center, !correct);
      if (!correct) {
        canvas.text(canvas.fitted("true: " + class_label(p.label, class_names), 13, room),
                    x0 + cell_w / 2, caption_y + 18, 13, Canvas::Align::center);
      }
    }
  }
  canvas.color(kBlack);
  canvas.text(title, width / 2.0, 32, 20, Canvas::Align::center, true);
  char summary[160];
  std::snprintf(summary, sizeof summary,
                "caption: predicted class; %zu of %zu wrong, framed in red with the true class",
                wrong, images.size());
  canvas.text(summary, width / 2.0, 56, 14, Canvas::Align::center);
  canvas.write(path);
}

void plot_confusion(const std::filesystem::path& path, const Evaluation& evaluation,
                    const std::string& title, const std::vector<std::string>& class_names) {
  const std::size_t k = evaluation.classes;
  if (k == 0 || evaluation.confusion.size() != k * k) {
    throw PlotError(path.string() + ": no confusion matrix to draw");
  }
  if (!class_names.empty() && class_names.size() != k) {
    throw PlotError(path.string() + ": " + std::to_string(class_names.size()) +
                    " class names for " + std::to_string(k) + " classes");
  }
  const double cell = k <= 10 ? 60 : std::max(12.0, 600.0 / static_cast<double>(k));
  const double font = std::min(16.0, cell * 0.3);
  const bool counts_readable = font >= 6;
  // Class labels: 15 pixels while the cells allow, smaller for many classes. Column labels are
  // turned upright when names or numbers would not fit side by side above their cells.
  const double label_font = std::min(15.0, cell * 0.75);
  constexpr double kMaxLabel = 150;
  std::vector<std::string> labels(k);
  double widest = 0;
  // A throwaway canvas to measure the labels before the picture's size is known.
  Canvas measure(1, 1);
  for (std::size_t c = 0; c < k; ++c) {
    labels[c] =
        measure.fitted(class_label(static_cast<int>(c), class_names), label_font, kMaxLabel);
    widest = std::max(widest, measure.text_width(labels[c], label_font));
  }
  const bool upright = widest > cell - 4;
  const double left = std::max(110.0, widest + 60);
  const double top = upright ? std::max(110.0, widest + 80) : 110.0, extra = 110;
  const double grid = cell * static_cast<double>(k);
  const int width = static_cast<int>(left + grid + extra + 30);
  const int height = static_cast<int>(top + grid + 40);
  Canvas canvas(width, height);
  cairo_t* cr = canvas.cr();

  for (std::size_t t = 0; t < k; ++t) {
    const std::size_t row_total = evaluation.class_count(t);
    for (std::size_t p = 0; p < k; ++p) {
      const std::size_t count = evaluation.confusion[t * k + p];
      const double fraction =
          row_total == 0 ? 0.0 : static_cast<double>(count) / static_cast<double>(row_total);
      // Diagonal in blue, mistakes in red; more saturated for a larger share of the row. Mistakes
      // are rare, so their shade grows with the square root to stay visible.
      const double s = t == p ? fraction : std::min(1.0, std::sqrt(fraction * 4));
      const Rgb c = t == p ? Rgb{1 - 0.85 * s, 1 - 0.6 * s, 1 - 0.2 * s}
                           : Rgb{1 - 0.1 * s, 1 - 0.75 * s, 1 - 0.75 * s};
      const double x = left + cell * static_cast<double>(p),
                   y = top + cell * static_cast<double>(t);
      canvas.color(c);
      cairo_rectangle(cr, x, y, cell, cell);
      cairo_fill(cr);
      if (count > 0 && counts_readable) {
        const bool dark = (c.r + c.g + c.b) / 3 < 0.6;
        canvas.color(dark ? Rgb{1, 1, 1} : kBlack);
        canvas.text(std::to_string(count), x + cell / 2, y + cell / 2 + font * 0.35, font,
                    Canvas::Align::center, t == p);
      }
    }
    char accuracy[32];
    std::snprintf(accuracy, sizeof accuracy, "%.1f%%", 100 * evaluation.class_accuracy(t));
    const double middle = cell * (static_cast<double>(t) + 0.5), shift = label_font / 3;
    canvas.color(kBlack);
    canvas.text(accuracy, left + grid + 12, top + middle + shift, label_font);
    canvas.text(labels[t], left - 10, top + middle + shift, label_font, Canvas::Align::right);
    if (upright) {
      // Read from the bottom up, ending just above the column.
      canvas.text(labels[t], left + middle + shift, top - 10, label_font, Canvas::Align::left,
                  false, true);
    } else {
      canvas.text(labels[t], left + middle, top - 10, label_font, Canvas::Align::center);
    }
  }
  canvas.color(kGrid);
  for (std::size_t i = 0; i <= k; ++i) {
    const double offset = cell * static_cast<double>(i);
    canvas.line(left + offset, top, left + offset, top + grid, 1);
    canvas.line(left, top + offset, left + grid, top + offset, 1);
  }
  canvas.color(kBlack);
  char heading[200];
  std::snprintf(heading, sizeof heading, "%s: accuracy %.2f%% of %zu", title.c_str(),
                100 * evaluation.accuracy(), evaluation.images());
  canvas.text(heading, width / 2.0, 32, 20, Canvas::Align::center, true);
  canvas.text("predicted class", left + grid / 2, upright ? 58 : top - 40, 15,
              Canvas::Align::center);
  canvas.text("true class", 28, top + grid / 2, 15, Canvas::Align::center, false, true);
  canvas.text("class accuracy", left + grid + 12, top - 10, 14);
  canvas.write(path);
}

}  // namespace cnn
