// cnn plot: redraws the pictures of a training run from the files in its folder.
#include <cstdio>
#include <filesystem>
#include <string>

#include "commands.hpp"
#include "run_folder.hpp"

namespace cnn::cli {

namespace {

int run_plot(const std::string& dir) {
  if (!std::filesystem::is_directory(dir)) {
    throw UsageError("RUN_DIR: '" + dir + "' is not a folder (give a run folder of 'cnn train')");
  }
  std::filesystem::path run(dir);
  std::string title = std::filesystem::absolute(run).lexically_normal().filename().string();
  if (title.empty()) title = std::filesystem::absolute(run).parent_path().filename().string();
  const RunPictureStyle style = read_run_picture_style(run);
  for (const auto& picture : draw_run_pictures(run, title, style.class_names, style.grey)) {
    std::printf("wrote %s\n", picture.c_str());
  }
  return 0;
}

}  // namespace

Command add_plot_command(CLI::App& app) {
  auto dir = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand(
      "plot", "Redraw loss.png, predictions.png and confusion.png of a run folder from its logs");
  cmd->add_option("RUN_DIR", *dir, "Run folder written by 'cnn train'")->required();
  return [dir] { return run_plot(*dir); };
}

}  // namespace cnn::cli
