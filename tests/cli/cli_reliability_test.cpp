// The reliability promises of `cnn train`, tested on the real program: a run killed with SIGKILL
// mid-epoch and resumed ends with bitwise the same model as a run never stopped; Ctrl-C finishes
// the step, writes a checkpoint, says how to resume and exits 130; a diverging run stops naming
// the iteration and layer and keeps the last good checkpoint; the same seed and thread count give
// the same losses, weights and accuracies in every process.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cli_runner.hpp"
#include "cnn/io/checkpoint.hpp"

namespace {

namespace fs = std::filesystem;
using cnn::testing::CliProcess;
using cnn::testing::CliResult;
using cnn::testing::Contains;
using cnn::testing::lines_of;
using cnn::testing::read_text;
using cnn::testing::run_cli;

// 250 training images at batch 8: 32 iterations per epoch (the last batch holds 2 images). A
// checkpoint every 499 iterations (a prime) always falls in the middle of an epoch.
constexpr const char* kIterations = "6000";
constexpr const char* kEvery = "499";

class CliReliabilityTest : public cnn::testing::SyntheticDataTest<300, 50> {
 protected:
  static void TearDownTestSuite() {
    SyntheticDataTest::TearDownTestSuite();
    delete reference_;
    reference_ = nullptr;
  }

  // The run every test resumes, with its checkpoint and model files in this test's folder.
  std::vector<std::string> training(const std::string& checkpoint, const std::string& model) const {
    return {"train",
            "--data",
            data(),
            "--val",
            "50",
            "--batch",
            "8",
            "--lr",
            "0.02",
            "--iterations",
            kIterations,
            "--threads",
            "1",
            "--seed",
            "4",
            "--report-every",
            "250",
            "--checkpoint-every",
            kEvery,
            "--checkpoint",
            (dir_ / checkpoint).string(),
            "--save",
            (dir_ / model).string()};
  }

  // The model and output of the run never stopped, computed once for the suite.
  const CliResult& reference() {
    if (reference_ == nullptr) {
      const fs::path folder = *root_ / "reference";
      fs::create_directory(folder);
      std::vector<std::string> args = training("unused", "unused");
      args[args.size() - 3] = (folder / "reference.ckpt").string();
      args.back() = (folder / "reference.safetensors").string();
      CliResult result = run_cli(args, folder);
      result.out += "\n--- model bytes:\n" + read_text(folder / "reference.safetensors");
      reference_ = new CliResult(result);
      EXPECT_EQ(reference_->status, 0) << *reference_;
    }
    return *reference_;
  }
  static std::string model_bytes(const CliResult& r) {
    const std::string marker = "\n--- model bytes:\n";
    return r.out.substr(r.out.find(marker) + marker.size());
  }

  // Waits (at most two minutes) until the checkpoint holds at least `iteration` iterations;
  // returns the iteration it holds, or nullopt when the process ended first.
  static std::optional<std::size_t> wait_for_checkpoint(CliProcess& process, const fs::path& file,
                                                        std::size_t iteration) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(2);
    while (std::chrono::steady_clock::now() < deadline) {
      if (fs::exists(file)) {
        try {
          const std::size_t done = cnn::load_checkpoint(file).state.iteration;
          if (done >= iteration) return done;
        } catch (const cnn::CheckpointError& e) {
          ADD_FAILURE() << "a checkpoint that does not load: " << e.what();
          return std::nullopt;
        }
      }
      if (!process.running()) return std::nullopt;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    ADD_FAILURE() << "no checkpoint of iteration " << iteration << " after two minutes";
    return std::nullopt;
  }

  // The loss lines ("iteration ... loss ... lr ...") without their wall times.
  static std::vector<std::string> loss_lines(const std::string& out) {
    std::vector<std::string> lines;
    for (const std::string& line : lines_of(out)) {
      // Loss lines only: validation runs during training print "iteration ... validation".
      if (line.rfind("iteration ", 0) == 0 && line.find("  loss ") != std::string::npos) {
        lines.push_back(line.substr(0, line.rfind("  ")));
      }
    }
    return lines;
  }

  // Trains 100 iterations of batch 8 with `flags`, a checkpoint every `every` iterations, then
  // resumes from the checkpoint left (which must be of iteration `last`) and expects the resumed
  // run's model file to be byte for byte the uninterrupted run's. Returns that checkpoint.
  cnn::Checkpoint expect_exact_resume(const std::vector<std::string>& flags, std::size_t every,
                                      std::size_t last) {
    std::vector<std::string> args = {"train",   "--data", data(),         "--val", "50",
                                     "--batch", "8",      "--iterations", "100"};
    args.insert(args.end(), flags.begin(), flags.end());
    const std::string checkpoint = (dir_ / "run.ckpt").string();
    for (const std::string& extra :
         {std::string("--checkpoint-every"), std::to_string(every), std::string("--checkpoint"),
          checkpoint, std::string("--save"), (dir_ / "straight.safetensors").string()}) {
      args.push_back(extra);
    }
    const CliResult straight = run_cli(args, dir_);
    EXPECT_EQ(straight.status, 0) << straight;
    cnn::Checkpoint loaded = cnn::load_checkpoint(checkpoint);
    EXPECT_EQ(loaded.state.iteration, last);
    const CliResult resumed = run_cli({"train", "--data", data(), "--resume", checkpoint, "--save",
                                       (dir_ / "resumed.safetensors").string()},
                                      dir_);
    EXPECT_EQ(resumed.status, 0) << resumed;
    EXPECT_TRUE(read_text(dir_ / "resumed.safetensors") == read_text(dir_ / "straight.safetensors"))
        << "the resumed run's model differs from the uninterrupted run's";
    return loaded;
  }

  static CliResult* reference_;
};

CliResult* CliReliabilityTest::reference_ = nullptr;

TEST_F(CliReliabilityTest, KillNineMidEpochThenResumeGivesBitwiseTheSameModel) {
  const CliResult& straight = reference();
  ASSERT_EQ(straight.status, 0);

  CliProcess killed(training("run.ckpt", "model.safetensors"), dir_, "-killed");
  // Past the first checkpoint, so the one resumed from has replaced an earlier one.
  const std::optional<std::size_t> reached = wait_for_checkpoint(killed, dir_ / "run.ckpt", 998);
  ASSERT_TRUE(reached.has_value()) << "the run ended before its second checkpoint\n"
                                   << killed.wait();
  killed.send(SIGKILL);
  const CliResult dead = killed.wait();
  ASSERT_EQ(dead.signal, SIGKILL) << dead << "\n(the run finished before the kill)";
  EXPECT_FALSE(fs::exists(dir_ / "model.safetensors"));
  const std::size_t resumed_at = cnn::load_checkpoint(dir_ / "run.ckpt").state.iteration;
  EXPECT_GE(resumed_at, 998u);
  EXPECT_NE(resumed_at % 32, 0u) << "the checkpoint should be in the middle of an epoch";

  const CliResult resumed =
      run_cli({"train", "--data", data(), "--resume", (dir_ / "run.ckpt").string(), "--save",
               (dir_ / "model.safetensors").string()},
              dir_);
  ASSERT_EQ(resumed.status, 0) << resumed;
  EXPECT_TRUE(Contains(resumed.out, "resuming from " + (dir_ / "run.ckpt").string() +
                                        " at iteration " + std::to_string(resumed_at)));
  EXPECT_TRUE(read_text(dir_ / "model.safetensors") == model_bytes(straight))
      << "the resumed run's model differs from the uninterrupted run's";
  // The loss lines after the checkpoint are the uninterrupted run's, to the last digit.
  const std::vector<std::string> all = loss_lines(straight.out), after = loss_lines(resumed.out);
  ASSERT_FALSE(after.empty());
  EXPECT_EQ(after, std::vector<std::string>(all.end() - long(after.size()), all.end()));
}

TEST_F(CliReliabilityTest, AdamOnABatchNormArchitectureResumesBitwise) {
  // Checkpoints at 40 and 80 of 100 iterations; resuming from the last one must give the model
  // exactly: Adam's moments, its step count and the batch-norm running statistics are all in the
  // checkpoint, and --resume restores --arch and --optimizer.
  expect_exact_resume({"--arch", "conv(4,5) bn relu maxpool(2) fc(classes)", "--optimizer", "adam",
                       "--lr", "0.001", "--schedule", "cosine", "--threads", "1"},
                      40, 80);
}

TEST_F(CliReliabilityTest, AugmentationAndDropoutResumeBitwise) {
  // Augmentation (elastic distortion included) and two dropout layers, a checkpoint at 60 of 100
  // iterations: the moves and the dropout masks follow from each image's key (seed, epoch, image
  // index), so the data order in the checkpoint is all the resumed run needs to draw them alike.
  const cnn::Checkpoint checkpoint = expect_exact_resume(
      {"--arch", "conv(4,5) bn relu maxpool(2) dropout(0.3) fc(16) relu dropout(0.5) fc(classes)",
       "--optimizer", "adam", "--lr", "0.002", "--translate", "2", "--rotate", "10", "--scale",
       "0.1", "--elastic", "10", "--elastic-sigma", "3", "--threads", "2"},
      60, 60);
  EXPECT_TRUE(checkpoint.state.random_streams.empty()) << "image keys need no saved generator";
}

TEST_F(CliReliabilityTest, MirroringErasingAndLabelSmoothingResumeBitwise) {
  // The settings come back from the checkpoint (the resumed command names none of them), and the
  // coin of the mirror and the rectangles of random erasing follow from the image keys.
  const cnn::Checkpoint checkpoint = expect_exact_resume(
      {"--arch", "conv(4,5) bn relu maxpool(2) fc(16) relu fc(classes)", "--optimizer", "adam",
       "--lr", "0.002", "--flip", "--erase", "0.5", "--label-smoothing", "0.1", "--threads", "2"},
      60, 60);
  EXPECT_EQ(checkpoint.info.extra.at("flip"), "1");
  EXPECT_NE(checkpoint.info.extra.at("erase"), "0");
  EXPECT_NE(checkpoint.info.extra.at("label_smoothing"), "0");
}

TEST_F(CliReliabilityTest, CtrlCFinishesTheStepWritesACheckpointAndSaysHowToResume) {
  const CliResult& straight = reference();
  ASSERT_EQ(straight.status, 0);

  CliProcess interrupted(training("run.ckpt", "model.safetensors"), dir_, "-interrupted");
  ASSERT_TRUE(wait_for_checkpoint(interrupted, dir_ / "run.ckpt", 499).has_value())
      << interrupted.wait();
  interrupted.send(SIGINT);
  const CliResult r = interrupted.wait();
  ASSERT_EQ(r.status, 130) << r;
  const std::vector<std::string> err = lines_of(r.err);
  ASSERT_EQ(err.size(), 2u) << r;
  const std::size_t stopped_at = cnn::load_checkpoint(dir_ / "run.ckpt").state.iteration;
  EXPECT_EQ(err[0], "cnn: interrupted after iteration " + std::to_string(stopped_at) + " of " +
                        kIterations + "; checkpoint written to " + (dir_ / "run.ckpt").string());
  const std::string prefix = "cnn: resume with: cnn ";
  ASSERT_EQ(err[1].rfind(prefix, 0), 0u) << r;
  EXPECT_FALSE(fs::exists(dir_ / "model.safetensors"));

  // The printed command, run as it is, finishes the run with the uninterrupted run's model.
  std::vector<std::string> args;
  std::istringstream words(err[1].substr(prefix.size()));
  for (std::string word; words >> word;) args.push_back(word);
  EXPECT_EQ(args,
            (std::vector<std::string>{"train", "--data", data(), "--resume",
                                      (dir_ / "run.ckpt").string(), "--checkpoint-every", kEvery,
                                      "--save", (dir_ / "model.safetensors").string()}));
  const CliResult resumed = run_cli(args, dir_);
  ASSERT_EQ(resumed.status, 0) << resumed;
  EXPECT_TRUE(read_text(dir_ / "model.safetensors") == model_bytes(straight))
      << "the resumed run's model differs from the uninterrupted run's";
}

TEST_F(CliReliabilityTest, DivergenceStopsNamingTheIterationAndLayerAndKeepsTheLastCheckpoint) {
  // LeNet-5 at learning rate 10^4 overflows to NaN within a few steps. (The seed network does
  // not: its loss climbs to about 10^18, its ReLUs die and the loss stays finite.)
  const fs::path checkpoint = dir_ / "run.ckpt", model = dir_ / "model.safetensors";
  const CliResult r = run_cli({"train",
                               "--data",
                               data(),
                               "--val",
                               "50",
                               "--batch",
                               "8",
                               "--preset",
                               "lenet5",
                               "--lr",
                               "1e4",
                               "--iterations",
                               "200",
                               "--threads",
                               "1",
                               "--checkpoint-every",
                               "1",
                               "--checkpoint",
                               checkpoint.string(),
                               "--save",
                               model.string()},
                              dir_);
  EXPECT_EQ(r.status, 1) << r;
  const std::vector<std::string> err = lines_of(r.err);
  ASSERT_EQ(err.size(), 1u) << r;
  EXPECT_TRUE(Contains(err[0], "cnn: error: training diverged at iteration "));
  EXPECT_TRUE(Contains(err[0], "the first layer with non-finite values is layer "));
  EXPECT_TRUE(Contains(err[0], "try a smaller --lr"));
  // The checkpoint is the one before the bad step, and every weight in it is finite.
  cnn::Checkpoint last = cnn::load_checkpoint(checkpoint);
  const std::string iteration = err[0].substr(err[0].find("iteration ") + 10);
  EXPECT_EQ(last.state.iteration + 1, std::stoul(iteration.substr(0, iteration.find(':'))));
  EXPECT_TRUE(Contains(err[0], "the last good checkpoint, " + checkpoint.string() +
                                   ", is from iteration " + std::to_string(last.state.iteration)));
  for (const cnn::Parameter& p : last.model.parameters()) {
    for (std::size_t i = 0; i < p.value->size(); ++i) {
      ASSERT_TRUE(std::isfinite((*p.value)[i])) << p.name << "[" << i << "]";
    }
  }
  EXPECT_FALSE(fs::exists(model));
}

TEST_F(CliReliabilityTest, SameSeedAndThreadsGiveIdenticalLossesWeightsAndAccuracies) {
  for (const char* threads : {"1", "2"}) {
    SCOPED_TRACE(std::string("--threads ") + threads);
    std::vector<CliResult> runs;
    for (const char* name : {"a", "b"}) {
      const fs::path model = dir_ / (std::string(name) + threads + ".safetensors");
      runs.push_back(run_cli({"train", "--data", data(), "--val", "50", "--batch", "8", "--lr",
                              "0.05", "--iterations", "400", "--report-every", "20", "--seed", "9",
                              "--threads", threads, "--save", model.string()},
                             dir_));
      ASSERT_EQ(runs.back().status, 0) << runs.back();
      const CliResult eval = run_cli(
          {"eval", "--model", model.string(), "--data", data(), "--threads", threads}, dir_);
      ASSERT_EQ(eval.status, 0) << eval;
      runs.back().err = eval.out;  // keep the evaluation output next to the training output
    }
    EXPECT_EQ(loss_lines(runs[0].out), loss_lines(runs[1].out));
    EXPECT_EQ(loss_lines(runs[0].out).size(), 20u);
    for (const char* label : {"validation accuracy", "test accuracy"}) {
      const auto line = [&](const std::string& out) {
        for (const std::string& l : lines_of(out)) {
          if (l.rfind(label, 0) == 0) return l;
        }
        return std::string("(none)");
      };
      EXPECT_EQ(line(runs[0].out), line(runs[1].out)) << label;
      EXPECT_NE(line(runs[0].out), "(none)");
    }
    EXPECT_TRUE(read_text(dir_ / (std::string("a") + threads + ".safetensors")) ==
                read_text(dir_ / (std::string("b") + threads + ".safetensors")));
    // Evaluating the two models gives the same accuracy line, from two more processes.
    const auto accuracy_line = [](const std::string& out) {
      for (const std::string& l : lines_of(out)) {
        if (l.rfind("test accuracy", 0) == 0) return l;
      }
      return std::string("(none)");
    };
    EXPECT_EQ(accuracy_line(runs[0].err), accuracy_line(runs[1].err));
    EXPECT_NE(accuracy_line(runs[0].err), "(none)");
  }
}

}  // namespace
