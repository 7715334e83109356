// cnn predict: classifies digits in image files (PNG, JPEG, PGM) with a saved model, after
// preparing each image as the MNIST digits were prepared (cnn/image.hpp).
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <set>
#include <string>
#include <system_error>
#include <vector>

#include "cnn/data/image.hpp"
#include "cnn/io/model_file.hpp"
#include "cnn/nn/softmax_cross_entropy.hpp"
#include "commands.hpp"
#include "options.hpp"

namespace cnn::cli {

namespace {

struct PredictArgs {
  std::string model;
  std::vector<std::string> images;
  bool json = false;
  std::size_t top = 3;
  std::string save_prepared;
};

struct Ranked {
  std::size_t label;
  float probability;
};

// The names of the prepared images in --save-prepared's folder: the input's whole file name (so
// 7.jpg and 7.png do not meet) and -28x28.pgm; where two inputs still share a name (the same
// name in two folders, or one file given twice) the later ones are numbered -2, -3, ...
class PreparedNames {
 public:
  std::string next(const std::string& file) {
    const std::string name = std::filesystem::path(file).filename().string();
    std::string candidate = name + "-28x28.pgm";
    for (int n = 2; !used_.insert(candidate).second; ++n) {
      candidate = name + "-" + std::to_string(n) + "-28x28.pgm";
    }
    return candidate;
  }

 private:
  std::set<std::string> used_;
};

int run_predict(const PredictArgs& args) {
  const std::filesystem::path prepared_dir = args.save_prepared;
  std::error_code ec;
  if (!args.save_prepared.empty() && std::filesystem::exists(prepared_dir, ec) &&
      !std::filesystem::is_directory(prepared_dir, ec)) {
    throw UsageError("--save-prepared: '" + args.save_prepared + "' is a file, expected a folder");
  }
  LoadedModel loaded = load_model(args.model);
  // Created (with its parents) only once the model has loaded, so a bad model leaves nothing.
  if (!args.save_prepared.empty() && !std::filesystem::create_directories(prepared_dir, ec) && ec) {
    throw std::runtime_error("--save-prepared: cannot create folder '" + args.save_prepared +
                             "': " + ec.message());
  }
  PreparedNames prepared_names;
  const Shape& input = loaded.info.input;
  if (!(input == Shape{1, 28, 28})) {
    throw std::runtime_error(args.model + ": the model takes images " + input.to_string() +
                             "; cnn predict prepares digits as 1x28x28 (MNIST)");
  }
  const std::size_t top = std::min(args.top, loaded.info.classes);
  nlohmann::json results = nlohmann::json::array();
  int status = 0;
  Tensor x(Shape{1, 1, 28, 28}), probs;
  for (const std::string& file : args.images) {
    GrayImage prepared;
    try {
      prepared = prepare_digit(read_image(file), file);
    } catch (const ImageError& e) {
      std::cerr << "cnn: error: " << e.what() << "\n";
      if (args.json) results.push_back({{"file", file}, {"error", e.what()}});
      status = 1;
      continue;
    }
    if (!args.save_prepared.empty()) {
      write_pgm(prepared_dir / prepared_names.next(file), prepared);
    }
    // The same scaling as training (Dataset::gather): pixel / 255.
    for (std::size_t i = 0; i < prepared.pixels.size(); ++i) {
      x.data()[i] = static_cast<float>(prepared.pixels[i]) / 255.0f;
    }
    softmax(loaded.model.forward(x, /*training=*/false), probs);
    std::vector<Ranked> ranked;
    for (std::size_t c = 0; c < loaded.info.classes; ++c) ranked.push_back({c, probs.data()[c]});
    std::stable_sort(ranked.begin(), ranked.end(), [](const Ranked& a, const Ranked& b) {
      return a.probability > b.probability;
    });
    ranked.resize(top);
    if (args.json) {
      nlohmann::json best = nlohmann::json::array();
      for (const Ranked& r : ranked) {
        best.push_back({{"class", r.label}, {"probability", r.probability}});
      }
      results.push_back({{"file", file}, {"predicted", ranked[0].label}, {"top", best}});
    } else {
      std::printf("%s: %zu", file.c_str(), ranked[0].label);
      const char* separator = "  (";
      for (const Ranked& r : ranked) {
        std::printf("%s%zu: %.3f", separator, r.label, static_cast<double>(r.probability));
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
      "Classify digits in PNG, JPEG or PGM images (any size; dark on light or light on dark)");
  cmd->add_option("--model", args->model, "Model file written by 'cnn train'")
      ->required()
      ->type_name("FILE");
  cmd->add_option("IMAGE", args->images, "Image files")->required();
  cmd->add_flag("--json", args->json, "Print the results as a JSON array");
  cmd->add_option("--top", args->top, "Classes to show per image, most probable first")
      ->check(integer_at_least(1, 1000))
      ->capture_default_str();
  cmd->add_option("--save-prepared", args->save_prepared,
                  "Write each prepared 28x28 image (what the network sees) as FILE-28x28.pgm "
                  "(FILE: the image's file name, e.g. 7.jpg-28x28.pgm) into this folder, created "
                  "if missing")
      ->type_name("DIR");
  return [args] { return run_predict(*args); };
}

}  // namespace cnn::cli
