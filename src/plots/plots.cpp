#include "cnn/plots/plots.hpp"

#include <cairo.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <memory>

namespace cnn {

namespace {

constexpr const char* kFont = "DejaVu Sans";

struct Rgb {
  double r, g, b;
};
constexpr Rgb kBlack{0.1, 0.1, 0.1}, kGrid{0.88, 0.88, 0.88}, kLossRaw{0.62, 0.75, 0.90},
    kLossSmooth{0.05, 0.30, 0.65}, kAccuracy{0.85, 0.40, 0.05}, kWrong{0.85, 0.1, 0.1};

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

  enum class Align { left, center, right };
  // Text with its baseline at y, aligned at x; rotated by 90° anticlockwise when vertical.
  void text(const std::string& s, double x, double y, double size, Align align = Align::left,
            bool bold = false, bool vertical = false) {
    cairo_save(cr());
    cairo_select_font_face(cr(), kFont, CAIRO_FONT_SLANT_NORMAL,
                           bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr(), size);
    cairo_text_extents_t extents;
    cairo_text_extents(cr(), s.c_str(), &extents);
    double shift = 0.0;
    if (align == Align::center) shift = extents.x_advance / 2;
    if (align == Align::right) shift = extents.x_advance;
    cairo_translate(cr(), x, y);
    if (vertical) cairo_rotate(cr(), -M_PI / 2);
    cairo_move_to(cr(), -shift, 0);
    cairo_show_text(cr(), s.c_str());
    cairo_restore(cr());
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

}  // namespace

void plot_loss(const std::filesystem::path& path, const std::vector<MetricsRow>& rows,
               const std::string& title) {
  std::vector<const MetricsRow*> finite;
  for (const MetricsRow& row : rows) {
    if (std::isfinite(row.loss)) finite.push_back(&row);
  }
  if (finite.empty()) throw PlotError(path.string() + ": no finite training loss to plot");

  const int width = 960, height = 600;
  const double left = 90, right = width - 100.0, top = 70, bottom = height - 80.0;
  Canvas canvas(width, height);
  cairo_t* cr = canvas.cr();

  // x: iterations from 0 to the last step; y (left): loss from 0; y (right): accuracy.
  const double x_max = static_cast<double>(rows.back().step);
  double loss_max = 0.0;
  for (const MetricsRow* row : finite) loss_max = std::max(loss_max, row->loss);
  const double x_step = nice_step(x_max, 8), loss_step = nice_step(loss_max, 6);
  const double x_end = std::max(x_step, std::ceil(x_max / x_step) * x_step);
  const double loss_end = std::max(loss_step, std::ceil(loss_max / loss_step) * loss_step);
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
  const auto py_loss = [&](double loss) { return bottom - (bottom - top) * loss / loss_end; };
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
  for (double y = 0; y <= loss_end + loss_step / 2; y += loss_step) {
    canvas.color(kGrid);
    canvas.line(left, py_loss(y), right, py_loss(y), 1);
    canvas.color(kLossSmooth);
    canvas.text(format_tick(y, loss_step), left - 8, py_loss(y) + 5, 14, Canvas::Align::right);
  }
  if (have_accuracy) {
    canvas.color(kAccuracy);
    for (double a = accuracy_begin; a <= 1.0 + accuracy_step / 2; a += accuracy_step) {
      canvas.text(format_tick(a, accuracy_step), right + 8, py_accuracy(a) + 5, 14);
    }
  }
  canvas.color(kBlack);
  cairo_set_line_width(cr, 1.5);
  cairo_rectangle(cr, left, top, right - left, bottom - top);
  cairo_stroke(cr);

  // Raw loss, then its exponential moving average (weight 0.9 per logged step, bias-corrected so
  // the first points are not pulled towards zero).
  cairo_save(cr);
  cairo_rectangle(cr, left, top, right - left, bottom - top);
  cairo_clip(cr);
  canvas.color(kLossRaw);
  cairo_set_line_width(cr, 1.2);
  cairo_move_to(cr, px(static_cast<double>(finite[0]->step)), py_loss(finite[0]->loss));
  for (const MetricsRow* row : finite)
    cairo_line_to(cr, px(static_cast<double>(row->step)), py_loss(row->loss));
  cairo_stroke(cr);
  const double beta = finite.size() > 50 ? 0.95 : 0.8;
  double average = 0.0, weight = 0.0;
  canvas.color(kLossSmooth);
  cairo_set_line_width(cr, 2.5);
  for (std::size_t i = 0; i < finite.size(); ++i) {
    average = beta * average + (1 - beta) * finite[i]->loss;
    weight = beta * weight + (1 - beta);
    const double x = px(static_cast<double>(finite[i]->step)), y = py_loss(average / weight);
    if (i == 0) {
      cairo_move_to(cr, x, y);
    } else {
      cairo_line_to(cr, x, y);
    }
  }
  cairo_stroke(cr);
  if (have_accuracy) {
    canvas.color(kAccuracy);
    cairo_set_line_width(cr, 2);
    bool first = true;
    for (const MetricsRow& row : rows) {
      if (!row.validation_accuracy) continue;
      const double x = px(static_cast<double>(row.step)), y = py_accuracy(*row.validation_accuracy);
      if (first) {
        cairo_move_to(cr, x, y);
      } else {
        cairo_line_to(cr, x, y);
      }
      first = false;
    }
    cairo_stroke(cr);
    for (const MetricsRow& row : rows) {
      if (!row.validation_accuracy) continue;
      cairo_arc(cr, px(static_cast<double>(row.step)), py_accuracy(*row.validation_accuracy), 4.5,
                0, 2 * M_PI);
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
  canvas.text("training loss (cross-entropy)", 28, (top + bottom) / 2, 15, Canvas::Align::center,
              false, true);
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
  legend(legend_y + 22, kLossSmooth, 2.5, "loss, moving average", false);
  if (have_accuracy) legend(legend_y + 44, kAccuracy, 2, "validation accuracy", true);
  canvas.write(path);
}

void plot_predictions(const std::filesystem::path& path, const std::vector<PredictedImage>& images,
                      std::size_t columns, const std::string& title) {
  if (images.empty() || columns == 0) throw PlotError(path.string() + ": no images to show");
  const std::size_t rows = (images.size() + columns - 1) / columns;
  const double scale = 3.0, cell_w = 100, cell_h = 124, margin = 20, header = 70;
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
    // Each pixel a scale x scale square, ink dark on white paper.
    for (std::size_t y = 0; y < p.image.height; ++y) {
      for (std::size_t x = 0; x < p.image.width; ++x) {
        const double v = 1.0 - p.image.at(x, y) / 255.0;
        cairo_set_source_rgb(cr, v, v, v);
        cairo_rectangle(cr, ix + scale * static_cast<double>(x),
                        iy + scale * static_cast<double>(y), scale, scale);
        cairo_fill(cr);
      }
    }
    const bool correct = p.predicted == p.label;
    canvas.color(correct ? kGrid : kWrong);
    cairo_set_line_width(cr, correct ? 1 : 3);
    cairo_rectangle(cr, ix - 1.5, iy - 1.5, image_w + 3, image_h + 3);
    cairo_stroke(cr);
    canvas.color(correct ? kBlack : kWrong);
    const std::string caption =
        correct ? std::to_string(p.predicted)
                : std::to_string(p.predicted) + " (true " + std::to_string(p.label) + ")";
    canvas.text(caption, x0 + cell_w / 2, iy + image_h + 24, 17, Canvas::Align::center, !correct);
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
                    const std::string& title) {
  const std::size_t k = evaluation.classes;
  if (k == 0 || evaluation.confusion.size() != k * k) {
    throw PlotError(path.string() + ": no confusion matrix to draw");
  }
  const double cell = k <= 10 ? 60 : std::max(12.0, 600.0 / static_cast<double>(k));
  const double left = 110, top = 110, extra = 110;
  const double grid = cell * static_cast<double>(k);
  const int width = static_cast<int>(left + grid + extra + 30);
  const int height = static_cast<int>(top + grid + 40);
  Canvas canvas(width, height);
  cairo_t* cr = canvas.cr();
  const double font = std::min(16.0, cell * 0.3);

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
      if (count > 0) {
        const bool dark = (c.r + c.g + c.b) / 3 < 0.6;
        canvas.color(dark ? Rgb{1, 1, 1} : kBlack);
        canvas.text(std::to_string(count), x + cell / 2, y + cell / 2 + font * 0.35, font,
                    Canvas::Align::center, t == p);
      }
    }
    char accuracy[32];
    std::snprintf(accuracy, sizeof accuracy, "%.1f%%", 100 * evaluation.class_accuracy(t));
    canvas.color(kBlack);
    canvas.text(accuracy, left + grid + 12, top + cell * (static_cast<double>(t) + 0.5) + 5, 15);
    canvas.text(std::to_string(t), left - 10, top + cell * (static_cast<double>(t) + 0.5) + 5, 15,
                Canvas::Align::right);
    canvas.text(std::to_string(t), left + cell * (static_cast<double>(t) + 0.5), top - 10, 15,
                Canvas::Align::center);
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
  canvas.text("predicted class", left + grid / 2, top - 40, 15, Canvas::Align::center);
  canvas.text("true class", left - 50, top + grid / 2, 15, Canvas::Align::center, false, true);
  canvas.text("class accuracy", left + grid + 12, top - 10, 14);
  canvas.write(path);
}

}  // namespace cnn
