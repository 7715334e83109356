// cnn predict: classifies image files (PNG, JPEG, PGM, PPM) or the rows of a CSV file with a saved
// model, preparing each image as the model file says (digits as MNIST's were, other images
// converted and resized to the model's input) and normalising it as the model was trained.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <set>
#include <span>
#include <string>
#include <system_error>
#include <vector>

#include "cnn/data/csv.hpp"
#include "cnn/data/image.hpp"
#include "cnn/model.hpp"
#include "commands.hpp"
#include "options.hpp"

namespace cnn::cli {

namespace {

struct PredictArgs {
  std::string model;
  std::vector<std::string> images;
  std::string csv;
  bool json = false;
  std::size_t top = 3;
  std::string save_prepared;
};

struct Ranked {
  std::size_t label;
  float probability;
};

// The names of the prepared images in --save-prepared's folder: the input's whole file name (so
// 7.jpg and 7.png do not meet) and the suffix (-28x28.pgm); where two inputs still share a name
// (the same name in two folders, or one file given twice) the later ones are numbered -2, -3, ...
class PreparedNames {
 public:
  std::string next(const std::string& file, const std::string& suffix) {
    const std::string name = std::filesystem::path(file).filename().string();
    std::string candidate = name + suffix;
    for (int n = 2; !used_.insert(candidate).second; ++n) {
      candidate = name + "-" + std::to_string(n) + suffix;
    }
    return candidate;
  }

 private:
  std::set<std::string> used_;
};

// The top classes of image `row` of the predictions, most probable first.
std::vector<Ranked> ranked_row(const Predictions& predictions, std::size_t row, std::size_t top) {
  const std::span<const float> probabilities = predictions.probabilities_of(row);
  std::vector<Ranked> ranked;
  for (std::size_t c = 0; c < probabilities.size(); ++c) ranked.push_back({c, probabilities[c]});
  std::stable_sort(ranked.begin(), ranked.end(),
                   [](const Ranked& a, const Ranked& b) { return a.probability > b.probability; });
  ranked.resize(std::min(top, probabilities.size()));
  return ranked;
}

nlohmann::json ranked_json(const std::vector<Ranked>& ranked,
                           const std::vector<std::string>& names) {
  nlohmann::json best = nlohmann::json::array();
  for (const Ranked& r : ranked) {
    best.push_back({{"class", r.label}, {"name", names[r.label]}, {"probability", r.probability}});
  }
  return best;
}

// --csv: every row of the file classified, printed as CSV (row,predicted,name,probability and
// the label when the file has one) or with --json as a JSON array.
int predict_csv(const PredictArgs& args, const Model& model) {
  const Shape& input = model.input_shape();
  const CsvPixels rows = load_pixel_csv(args.csv, input);
  const std::vector<std::string> names = model.class_names();
  const std::size_t count = rows.pixels.size() / input.numel(), batch = 100;
  const bool labelled = rows.labels.has_value();
  nlohmann::json results = nlohmann::json::array();
  if (!args.json) std::printf("row,predicted,name,probability%s\n", labelled ? ",label" : "");
  for (std::size_t begin = 0; begin < count; begin += batch) {
    const std::size_t n = std::min(batch, count - begin);
    // Normalised as the model was trained.
    const Predictions predictions = model.predict_pixels(
        std::span(rows.pixels).subspan(begin * input.numel(), n * input.numel()), n);
    for (std::size_t i = 0; i < n; ++i) {
      const std::vector<Ranked> ranked = ranked_row(predictions, i, args.top);
      const std::size_t row = begin + i + 1;
      if (args.json) {
        nlohmann::json result = {{"row", row},
                                 {"predicted", ranked[0].label},
                                 {"name", names[ranked[0].label]},
                                 {"top", ranked_json(ranked, names)}};
        if (labelled) result["label"] = (*rows.labels)[begin + i];
        results.push_back(std::move(result));
      } else {
        std::printf("%zu,%zu,%s,%.6f", row, ranked[0].label, names[ranked[0].label].c_str(),
                    static_cast<double>(ranked[0].probability));
        if (labelled) std::printf(",%u", static_cast<unsigned>((*rows.labels)[begin + i]));
        std::printf("\n");
      }
    }
  }
  if (args.json) std::printf("%s\n", results.dump(2).c_str());
  return 0;
}

int run_predict(const PredictArgs& args) {
  if (args.images.empty() == args.csv.empty()) {
    throw UsageError(args.csv.empty() ? "give IMAGE files or --csv FILE"
                                      : "give IMAGE files or --csv FILE, not both");
  }
  const std::filesystem::path prepared_dir = args.save_prepared;
  std::error_code ec;
  if (!args.save_prepared.empty() && std::filesystem::exists(prepared_dir, ec) &&
      !std::filesystem::is_directory(prepared_dir, ec)) {
    throw UsageError("--save-prepared: '" + args.save_prepared + "' is a file, expected a folder");
  }
  const Model model = Model::load(args.model);
  if (!args.csv.empty()) return predict_csv(args, model);
  // Created (with its parents) only once the model has loaded, so a bad model leaves nothing.
  if (!args.save_prepared.empty() && !std::filesystem::create_directories(prepared_dir, ec) && ec) {
    throw std::runtime_error("--save-prepared: cannot create folder '" + args.save_prepared +
                             "': " + ec.message());
  }
  PreparedNames prepared_names;
  const Shape& input = model.input_shape();
  const std::vector<std::string> names = model.class_names();
  const std::string suffix = "-" + std::to_string(input[1]) + "x" + std::to_string(input[2]) +
                             (input[0] == 1 ? ".pgm" : ".png");
  nlohmann::json results = nlohmann::json::array();
  int status = 0;
  for (const std::string& file : args.images) {
    Image prepared;
    try {
      // As the model file says: digit or resize (Model::prepare_file).
      prepared = model.prepare_file(file);
    } catch (const ImageError& e) {
      std::cerr << "cnn: error: " << e.what() << "\n";
      if (args.json) results.push_back({{"file", file}, {"error", e.what()}});
      status = 1;
      continue;
    }
    if (!args.save_prepared.empty()) {
      const std::filesystem::path path = prepared_dir / prepared_names.next(file, suffix);
      if (prepared.channels == 1) {
        write_pgm(path, GrayImage{prepared.width, prepared.height, prepared.pixels});
      } else {
        write_png(path, prepared);
      }
    }
    // Normalised as the model was trained (pixel / 255 for models before version 2).
    const std::vector<Ranked> ranked =
        ranked_row(model.predict_pixels(prepared.pixels, 1), 0, args.top);
    if (args.json) {
      results.push_back({{"file", file},
                         {"predicted", ranked[0].label},
                         {"name", names[ranked[0].label]},
                         {"top", ranked_json(ranked, names)}});
    } else {
      std::printf("%s: %s", file.c_str(), names[ranked[0].label].c_str());
      const char* separator = "  (";
      for (const Ranked& r : ranked) {
        std::printf("%s%s: %.3f", separator, names[r.label].c_str(),
                    static_cast<double>(r.probability));
        separator = ", ";
      }
      std::printf(")\n");
    }
  }
  if (args.json) std::printf("%s\n", results.dump(2).c_str());
  return status;
}

}  // namespace

Command add_predict_command(CLI::App& app) {
  auto args = std::make_shared<PredictArgs>();
  CLI::App* cmd = app.add_subcommand(
      "predict",
      "Classify image files (PNG, JPEG, PGM, PPM; any size), prepared as the model records: "
      "digits as MNIST's (dark on light or light on dark), other models' images converted and "
      "resized to the input; or the rows of a CSV file (--csv)");
  cmd->add_option("--model", args->model, "Model file written by 'cnn train'")
      ->required()
      ->type_name("FILE");
  cmd->add_option("IMAGE", args->images, "Image files");
  cmd->add_option("--csv", args->csv,
                  "Classify every row of this CSV file (pixels in the model's input shape, with or "
                  "without a label column first, as Kaggle's test.csv): prints "
                  "row,predicted,name,probability lines (1-based rows), or JSON with --json")
      ->type_name("FILE");
  cmd->add_flag("--json", args->json, "Print the results as a JSON array");
  cmd->add_option("--top", args->top, "Classes to show per image, most probable first")
      ->check(integer_at_least(1, 1000))
      ->capture_default_str();
  cmd->add_option("--save-prepared", args->save_prepared,
                  "Write each prepared image (what the network sees) as FILE-HxW.pgm (FILE-HxW.png "
                  "in colour; FILE: the image's file name, e.g. 7.jpg-28x28.pgm) into this folder, "
                  "created if missing")
      ->type_name("DIR");
  return [args] { return run_predict(*args); };
}

}  // namespace cnn::cli
