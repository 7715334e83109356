// Writes the seed corpora of the fuzz targets into DIR/<target>/ with the library's own writers:
// small valid files and a few near-valid ones (truncated, wrong magic, trailing bytes), so the
// fuzzer starts from inputs that reach deep into each parser. The output is checked in under
// fuzz/corpus/; rerun this after a format change: build-fuzz/fuzz/write_seed_corpus fuzz/corpus
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "cnn/arch/presets.hpp"
#include "cnn/data/idx.hpp"
#include "cnn/data/image.hpp"
#include "cnn/io/checkpoint.hpp"
#include "cnn/io/model_file.hpp"
#include "cnn/train/sgd.hpp"

// After <cstdio>: jpeglib.h uses FILE and size_t without including their headers.
#include <jpeglib.h>
#include <zlib.h>

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

// A TIFF structure (big-endian) whose IFD0 holds one entry: Orientation = value.
std::vector<std::uint8_t> tiff_with_orientation(std::uint8_t value) {
  return {'M',  'M',   0, 42, 0, 0, 0, 8,  // header, IFD0 at 8
          0,    1,                         // one entry
          0x01, 0x12,  0, 3,  0, 0, 0, 1,  // tag 0x0112 (Orientation), SHORT, one value
          0,    value, 0, 0,               // the value, padded to 4 bytes
          0,    0,     0, 0};              // no next IFD
}

// A small RGB JPEG (libjpeg, quality 90) with an APP1 Exif segment for orientation 6.
void write_exif_jpeg(const fs::path& path) {
  const int width = 12, height = 8;
  std::vector<std::uint8_t> rgb;
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      rgb.insert(rgb.end(), {static_cast<std::uint8_t>(20 * x), static_cast<std::uint8_t>(30 * y),
                             static_cast<std::uint8_t>(x < 4 ? 0 : 200)});
    }
  }
  jpeg_compress_struct cinfo;
  jpeg_error_mgr errors;
  cinfo.err = jpeg_std_error(&errors);
  jpeg_create_compress(&cinfo);
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&cinfo, &buffer, &size);
  cinfo.image_width = width;
  cinfo.image_height = height;
  cinfo.input_components = 3;
  cinfo.in_color_space = JCS_RGB;
  jpeg_set_defaults(&cinfo);
  jpeg_set_quality(&cinfo, 90, TRUE);
  jpeg_start_compress(&cinfo, TRUE);
  std::vector<std::uint8_t> exif = {'E', 'x', 'i', 'f', 0, 0};
  const std::vector<std::uint8_t> tiff = tiff_with_orientation(6);
  exif.insert(exif.end(), tiff.begin(), tiff.end());
  jpeg_write_marker(&cinfo, JPEG_APP0 + 1, exif.data(), static_cast<unsigned>(exif.size()));
  while (cinfo.next_scanline < cinfo.image_height) {
    JSAMPROW row = rgb.data() + cinfo.next_scanline * width * 3;
    jpeg_write_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
  write_all(path, std::vector<char>(buffer, buffer + size));
  std::free(buffer);
}

// `png` with an eXIf chunk (orientation 8) inserted after IHDR (which ends at byte 33).
std::vector<char> with_exif_chunk(std::vector<char> png) {
  const std::vector<std::uint8_t> tiff = tiff_with_orientation(8);
  std::vector<std::uint8_t> chunk = {0,   0,   0,   static_cast<std::uint8_t>(tiff.size()),
                                     'e', 'X', 'I', 'f'};
  chunk.insert(chunk.end(), tiff.begin(), tiff.end());
  const auto crc =
      static_cast<std::uint32_t>(crc32(0, chunk.data() + 4, static_cast<uInt>(chunk.size() - 4)));
  for (int shift = 24; shift >= 0; shift -= 8)
    chunk.push_back(static_cast<std::uint8_t>(crc >> shift));
  png.insert(png.begin() + 33, chunk.begin(), chunk.end());
  return png;
}

// The colour seeds (the grey ones, drawing.png, photo.jpg and the PGMs, are checked in as they
// were made by hand): an RGB PNG, the same with an eXIf chunk, an EXIF JPEG and a PPM.
void write_image_corpus(const fs::path& dir) {
  cnn::Image colour{3, 6, 5, {}};
  for (std::size_t i = 0; i < 3 * 6 * 5; ++i)
    colour.pixels.push_back(static_cast<std::uint8_t>(i * 11));
  cnn::write_png(dir / "colour.png", colour);
  write_all(dir / "colour-exif.png", with_exif_chunk(read_all(dir / "colour.png")));
  write_exif_jpeg(dir / "exif-orientation-6.jpg");
  const std::string ppm = "P3\n# colour\n2 2\n255\n255 0 0  0 255 0\n0 0 255  9 9 9\n";
  write_all(dir / "text.ppm", std::vector<char>(ppm.begin(), ppm.end()));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr,
                 "usage: %s DIR (writes DIR/idx, DIR/model_file, DIR/checkpoint and the colour "
                 "seeds of DIR/image)\n",
                 argv[0]);
    return 2;
  }
  const fs::path root = argv[1];
  for (const char* target : {"idx", "model_file", "checkpoint", "image"}) {
    fs::create_directories(root / target);
  }
  write_idx_corpus(root / "idx");
  write_model_file_corpus(root / "model_file");
  write_checkpoint_corpus(root / "checkpoint");
  write_image_corpus(root / "image");
  return 0;
}
