// Test accuracy against training wall time, for docs/accuracy.md's time-to-99% curve.
//
// A measurement run, separate from choosing settings: it trains one architecture with one recipe
// and evaluates the 10,000 test images every `every` iterations. The evaluation time is
// subtracted, so the wall time printed is that of training alone. The CPU time of the process
// (all threads, evaluation subtracted too) is printed next to it: on a shared machine the wall
// time grows with the other users' load, the CPU time much less. Settings come from the
// validation split (cnn train); nothing here feeds back into them.
//
//   accuracy_curve DATA NETWORK EPOCHS BATCH LR EVERY [THREADS [SEED]]
//   NETWORK: a preset name or a text in the architecture language; EPOCHS may be a fraction
//   (1.5: the one-cycle schedule spans one and a half passes); SEED as cnn train --seed (1).
//   (optimizer adam, one-cycle schedule with warm-up 0.25, no augmentation)
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>

#include "cnn/arch/architecture.hpp"
#include "cnn/arch/presets.hpp"
#include "cnn/core/parallel.hpp"
#include "cnn/data/dataset.hpp"
#include "cnn/train/training.hpp"

int main(int argc, char** argv) {
  if (argc < 7) {
    std::fprintf(stderr, "usage: %s DATA NETWORK EPOCHS BATCH LR EVERY [THREADS [SEED]]\n",
                 argv[0]);
    return 2;
  }
  try {
    cnn::set_num_threads(argc > 7 ? std::stoul(argv[7]) : 2);
    const cnn::MnistSplits data = cnn::load_mnist(argv[1]);
    const cnn::Dataset train_set = data.train.slice(0, data.train.size() - 5000);
    const std::string network = argv[2];
    const bool is_text = network.find('(') != std::string::npos;
    cnn::Sequential model =
        is_text ? cnn::build_architecture(network, train_set.image_shape(), train_set.classes())
                : cnn::make_preset(network, train_set.image_shape(), train_set.classes());
    const std::uint64_t seed = argc > 8 ? std::stoull(argv[8]) : 1;
    model.initialize(seed);
    cnn::TrainOptions options;
    options.batch_size = std::stoul(argv[4]);
    const double epochs = std::stod(argv[3]);
    const double batches_per_epoch =
        static_cast<double>((train_set.size() + options.batch_size - 1) / options.batch_size);
    options.iterations = static_cast<std::size_t>(std::lround(epochs * batches_per_epoch));
    options.optimizer.learning_rate = std::stod(argv[5]);
    options.optimizer.schedule.decay = 0.0;
    options.optimizer.kind = cnn::OptimizerKind::adam;
    options.optimizer.schedule.kind = cnn::ScheduleKind::onecycle;
    options.report_every = std::stoul(argv[6]);
    options.shuffle_seed = seed ^ 0x5eedda7aULL;  // as cnn train --seed
    double evaluation_seconds = 0.0;
    std::printf(
        "# %s, %s epochs (%zu iterations), batch %s, adam lr %s onecycle, %zu threads, "
        "seed %llu\n",
        argv[2], argv[3], options.iterations, argv[4], argv[5], cnn::num_threads(),
        static_cast<unsigned long long>(seed));
    std::printf("# iteration  training_wall_seconds  training_cpu_seconds  test_accuracy\n");
    const std::clock_t cpu_start = std::clock();
    double evaluation_cpu = 0.0;
    const auto cpu_seconds = [&] {
      return static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC;
    };
    cnn::train(model, train_set, options, [&](const cnn::TrainProgress& p) {
      const auto start = std::chrono::steady_clock::now();
      const double cpu_before = cpu_seconds();
      const double accuracy = cnn::evaluate(model, data.test);
      std::printf("%zu %.2f %.2f %.4f\n", p.iteration, p.seconds - evaluation_seconds,
                  cpu_before - evaluation_cpu, accuracy);
      evaluation_cpu += cpu_seconds() - cpu_before;
      std::fflush(stdout);
      evaluation_seconds +=
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    });
  } catch (const std::exception& e) {
    std::fprintf(stderr, "accuracy_curve: %s\n", e.what());
    return 1;
  }
  return 0;
}
