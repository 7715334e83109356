// Writes the seed corpora of the fuzz targets into DIR/<target>/ with the library's own writers:
// small valid files and a few near-valid ones (truncated, wrong magic, trailing bytes), so the
// fuzzer starts from inputs that reach deep into each parser. The output is checked in under
// fuzz/corpus/; rerun this after a format change: build-fuzz/fuzz/write_seed_corpus fuzz/corpus
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "cnn/arch/presets.hpp"
#include "cnn/data/idx.hpp"
#include "cnn/io/checkpoint.hpp"
#include "cnn/io/model_file.hpp"
#include "cnn/train/sgd.hpp"

namespace fs = std::filesystem;

namespace {

std::vector<char> read_all(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_all(const fs::path& path, const std::vector<char>& bytes) {
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<long>(bytes.size()));
}

// A copy of `from` cut to `size` bytes, or with `extra` appended.
void write_variant(const fs::path& from, const fs::path& to, std::size_t size,
                   const std::string& extra = "") {
  std::vector<char> bytes = read_all(from);
  bytes.resize(std::min(size, bytes.size()));
  bytes.insert(bytes.end(), extra.begin(), extra.end());
  write_all(to, bytes);
}

void write_idx_corpus(const fs::path& dir) {
  cnn::IdxImages images;
  images.count = 3;
  images.rows = 4;
  images.cols = 5;
  for (std::size_t i = 0; i < 3 * 4 * 5; ++i) images.pixels.push_back(static_cast<uint8_t>(i * 7));
  const std::vector<std::uint8_t> labels = {0, 9, 4};
  cnn::write_idx_images(dir / "images", images, false);
  cnn::write_idx_images(dir / "images.gz", images, true);
  cnn::write_idx_labels(dir / "labels", labels, false);
  cnn::write_idx_labels(dir / "labels.gz", labels, true);
  write_variant(dir / "images", dir / "images-truncated", 40);
  write_variant(dir / "images", dir / "images-trailing", 1000, "xyz");
  write_variant(dir / "images.gz", dir / "images-truncated.gz", 30);
  write_variant(dir / "labels", dir / "labels-header-only", 8);
  // Two gzip members one after the other, as `cat a.gz b.gz` makes.
  std::vector<char> twice = read_all(dir / "labels.gz");
  const std::vector<char> second = read_all(dir / "labels.gz");
  twice.insert(twice.end(), second.begin(), second.end());
  write_all(dir / "labels-two-members.gz", twice);
}

void write_model_file_corpus(const fs::path& dir) {
  // The seed network on 8x8 images with 2 classes: 584 parameters, a 2.5 KB file.
  const cnn::Shape image{1, 8, 8};
  cnn::Sequential model = cnn::make_preset("seed", image, 2);
  model.initialize(1);
  cnn::save_model(dir / "seed-8x8", model, {"seed", image, 2, {{"seed", "1"}}});
  const auto size = fs::file_size(dir / "seed-8x8");
  write_variant(dir / "seed-8x8", dir / "truncated-data", size - 100);
  write_variant(dir / "seed-8x8", dir / "trailing", size, "xyzw");
  write_variant(dir / "seed-8x8", dir / "header-only", 8);
}

void write_checkpoint_corpus(const fs::path& dir) {
  const cnn::Shape image{1, 8, 8};
  cnn::Sequential model = cnn::make_preset("seed", image, 2);
  model.initialize(1);
  cnn::SGD sgd(model.parameter_block(), {});
  cnn::TrainState state;
  state.iteration = 7;
  state.images = 28;
  state.loss_sum = 1.25;
  state.loss_count = 3;
  state.optimizer = sgd.checkpoint_state();
  state.sampler.order = {2, 0, 4, 1, 3};
  state.sampler.position = 3;
  state.sampler.epoch = 2;
  state.sampler.rng = cnn::Rng(5).state();
  const cnn::ModelInfo info{"seed", image, 2, {{"batch", "4"}, {"seed", "1"}}};
  cnn::save_checkpoint(dir / "seed-8x8", model, info, state);
  const auto size = fs::file_size(dir / "seed-8x8");
  write_variant(dir / "seed-8x8", dir / "truncated-data", size - 10);
  write_variant(dir / "seed-8x8", dir / "header-only", 8);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIR (writes DIR/idx, DIR/model_file, DIR/checkpoint)\n",
                 argv[0]);
    return 2;
  }
  const fs::path root = argv[1];
  for (const char* target : {"idx", "model_file", "checkpoint"}) {
    fs::create_directories(root / target);
  }
  write_idx_corpus(root / "idx");
  write_model_file_corpus(root / "model_file");
  write_checkpoint_corpus(root / "checkpoint");
  return 0;
}
