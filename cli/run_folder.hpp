// The folder of a training run and what goes in it:
//   run.json              the record of the run (RunRecord): when, on what data, the command, how
//                         it ended
//   metrics.csv           the metrics log (cnn/run_log.hpp), written while training runs
//   model.safetensors     the trained model
//   test_predictions.csv  every test image's label, prediction, confidence and logits
//                         (predictions_csv.hpp)
//   samples.png           100 test images spread evenly over the test set (image k·N/100 of N;
//                         all when N ≤ 100), 10 a row, for the grid (image folders and CSV files
//                         may list the images class by class, so the first 100 could all be of
//                         one class): grey or RGB as the data; the images' width is the mosaic's
//                         width / 10, their height the mosaic's height / its rows (ceil(images /
//                         10) of the images in test_predictions.csv, at most 10), so images of any
//                         shape cut back. Run folders of earlier versions hold samples.pgm (grey,
//                         square images) instead; `cnn plot` reads either.
//   loss.png predictions.png confusion.png   drawn from the files above (`cnn plot` redraws them)
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cnn/data/dataset.hpp"
#include "cnn/plots/plots.hpp"
#include "cnn/train/evaluation.hpp"

namespace cnn::cli {

inline constexpr std::size_t kSampleCount = 100, kSampleColumns = 10;

// The test image at place k of the `shown` images of samples.png, out of `total`: k·total/shown.
std::size_t sample_index(std::size_t k, std::size_t shown, std::size_t total);

// --out DIR (created with its parents; refused with a UsageError when it already holds a run's
// metrics.csv), or a new folder runs/<YYYYmmdd-HHMMSS>-<preset> (with -2, -3... appended when that
// exists, so an earlier run is never overwritten).
std::filesystem::path make_run_folder(const std::string& out, const std::string& preset);

// The run folder of a resumed run: `recorded`, the folder its checkpoint names. --out, when given,
// must be the same folder (UsageError otherwise), unless the recorded folder is gone (moved or
// deleted): then the run continues in --out, or in `recorded` made anew, with a warning that
// the metrics log misses what was logged before `iteration` unless the folder holds it.
std::filesystem::path resume_run_folder(const std::string& recorded, const std::string& out,
                                        std::size_t iteration);

// run.json, a small JSON record of the run for people and tools (a web page of the runs):
//   started      when the run began, UTC, "2026-11-29T11:46:20Z"; resumed: when it was resumed
//   data         the --data folder, absolute
//   command      the command line of the process that started it; resume_commands: of each resume
//   version      the program's version
//   status       "running", then "finished", "interrupted" (with resume_command), "diverged"
//                (with error) or "failed" (with error); a run killed outright stays "running"
//   pid, host    the process that trains (getpid, gethostname), for telling a run that is
//                still training from one killed outright (below)
//   ended        when it ended; and the results (best and final validation, test accuracy...)
// Every write goes to a temporary file renamed over run.json, so the file is always whole.
//
// run.lock: while the record lives (the whole training), its process holds an exclusive flock
// on the file run.lock of the run folder. The kernel drops the lock when the process ends, however
// it ends (kill -9 included), so a reader (`cnn serve`) that finds run.json "running" tells a
// live run from a dead one by trying a shared, non-blocking flock on run.lock opened read-only:
// refused while the run trains, granted once its process is gone; no stale pid to guess about.
// A second `cnn train` in the same folder (the same checkpoint resumed twice at once) is refused.
class RunRecord {
 public:
  // Starts the record of a new run or, when `resumed` and the folder holds one, continues it;
  // takes run.lock, sets status "running", pid and host, and writes it. An empty `run` makes a
  // record that writes and locks nothing (the processes of a data-parallel run other than the
  // first). Throws UsageError when another live process holds run.lock, std::runtime_error
  // naming run.lock when it cannot be created.
  RunRecord(const std::filesystem::path& run, const std::string& data, bool resumed);
  ~RunRecord();  // releases run.lock
  RunRecord(const RunRecord&) = delete;
  RunRecord& operator=(const RunRecord&) = delete;
  // Sets a key, written by the next write().
  void set(const std::string& key, nlohmann::json value);
  // Sets status and "ended" (now), then writes.
  void end(const std::string& status);
  // Writes the record; throws std::runtime_error naming the file.
  void write() const;

 private:
  std::filesystem::path path_;
  nlohmann::json record_;
  int lock_fd_ = -1;  // run.lock, held with an exclusive flock
};

// How the pictures of a run name its classes and draw its grey images, from run.json's keys
// "class_names" (an array of strings, one per class) and "preparation" ("digit": ink on paper,
// "resize": as they are). Run folders of earlier versions lack them, or run.json: numbers, ink on
// paper. Throws DataError naming run.json when it is not JSON or a key holds something else.
struct RunPictureStyle {
  std::vector<std::string> class_names;
  GreyDrawing grey = GreyDrawing::ink_on_paper;
};
RunPictureStyle read_run_picture_style(const std::filesystem::path& run);

// Writes test_predictions.csv and samples.png for the test set and its evaluation.
void write_test_results(const std::filesystem::path& run, const Dataset& test,
                        const Evaluation& evaluation);

// Draws loss.png, predictions.png and confusion.png from the files of the run folder (samples.png,
// or samples.pgm of earlier run folders); the title names the run. Classes are named by
// class_names (numbers when empty); grey sample images are drawn as `grey` says (ink on paper for
// digits). Returns the pictures written. Throws DataError / PlotError naming the file: a mosaic
// that does not cut into the images of test_predictions.csv, a class beyond the names given.
std::vector<std::filesystem::path> draw_run_pictures(
    const std::filesystem::path& run, const std::string& title,
    const std::vector<std::string>& class_names = {}, GreyDrawing grey = GreyDrawing::ink_on_paper);

}  // namespace cnn::cli
