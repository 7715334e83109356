// The decoded cache of image folders: a hit gives the same set without decoding; any change of
// the folder or the options misses; a damaged cache file is rebuilt, never trusted; a cache that
// cannot be written is a warning.
#include "cnn/data/decoded_cache.hpp"

#include <gtest/gtest.h>

#include <stdlib.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "assertions.hpp"
#include "cnn/data/image.hpp"
#include "cnn/data/image_folder.hpp"
#include "temp_dir.hpp"

namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<std::uint8_t>;
using cnn::testing::Contains;

cnn::Image grey(std::uint8_t value) {
  cnn::Image image;
  image.height = 3;
  image.width = 2;
  image.pixels.assign(6, value);
  return image;
}

Bytes read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_bytes(const fs::path& path, const Bytes& bytes) {
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()),
             static_cast<std::streamsize>(bytes.size()));
}

void expect_same_set(const cnn::ImageFolderSet& a, const cnn::ImageFolderSet& b) {
  EXPECT_EQ(a.images.image, b.images.image);
  EXPECT_EQ(a.images.pixels, b.images.pixels);
  EXPECT_EQ(a.images.labels, b.images.labels);
  EXPECT_EQ(a.images.class_names, b.images.class_names);
  EXPECT_EQ(a.files, b.files);
  EXPECT_EQ(a.skipped, b.skipped);
  EXPECT_EQ(a.ignored_files, b.ignored_files);
}

class DecodedCacheTest : public cnn::testing::TempDirTest {
 protected:
  DecodedCacheTest() : TempDirTest("cnn-decoded-cache") {}
  void SetUp() override {
    TempDirTest::SetUp();
    set_ = path("set");
    put("cat/1.png", grey(1));
    put("cat/2.png", grey(2));
    put("dog/1.png", grey(3));
    std::ofstream(set_ / "dog" / "bad.png") << "not an image";
    std::ofstream(set_ / "README") << "ignored";
    options_.cache_dir = path("cache");
    options_.skip_bad_images = true;
  }
  void put(const std::string& relative, const cnn::Image& image) {
    fs::create_directories((set_ / relative).parent_path());
    cnn::write_png(set_ / relative, image);
  }
  // The one cache file there is.
  fs::path cache_file() const {
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(*options_.cache_dir)) {
      files.push_back(entry.path());
    }
    EXPECT_EQ(files.size(), 1u);
    return files.empty() ? fs::path() : files[0];
  }
  cnn::ImageFolderSet load() const { return cnn::load_class_folders(set_, options_); }
  // Each damage is found and the set rebuilt (then cached again).
  void expect_rebuilt(const cnn::ImageFolderSet& reference, const std::string& reason) {
    const cnn::ImageFolderSet rebuilt = load();
    EXPECT_FALSE(rebuilt.from_cache);
    ASSERT_EQ(rebuilt.cache_warnings.size(), 1u);
    EXPECT_TRUE(Contains(rebuilt.cache_warnings[0], reason));
    EXPECT_TRUE(Contains(rebuilt.cache_warnings[0], "; rebuilding"));
    expect_same_set(rebuilt, reference);
    EXPECT_TRUE(load().from_cache);
  }

  fs::path set_;
  cnn::ImageFolderOptions options_;
};

TEST_F(DecodedCacheTest, SecondLoadIsAHitWithIdenticalContent) {
  const cnn::ImageFolderSet first = load();
  EXPECT_FALSE(first.from_cache);
  EXPECT_TRUE(first.cache_warnings.empty());
  EXPECT_EQ(first.skipped.size(), 1u);
  EXPECT_EQ(first.ignored_files, 1u);
  const std::string name = cache_file().filename().string();
  EXPECT_EQ(name.size(), std::string("images-0123456789abcdef.bin").size()) << name;
  EXPECT_EQ(name.rfind("images-", 0), 0u) << name;

  bool progress_called = false;
  options_.progress = [&](std::size_t, std::size_t) { progress_called = true; };
  const cnn::ImageFolderSet second = load();
  EXPECT_TRUE(second.from_cache);
  EXPECT_FALSE(progress_called);
  EXPECT_TRUE(second.cache_warnings.empty());
  expect_same_set(first, second);
}

TEST_F(DecodedCacheTest, ChangedFolderMisses) {
  load();
  // Touched: same bytes, newer time.
  fs::last_write_time(set_ / "cat" / "1.png",
                      fs::last_write_time(set_ / "cat" / "1.png") + std::chrono::seconds(5));
  EXPECT_FALSE(load().from_cache);
  EXPECT_TRUE(load().from_cache);

  put("cat/3.png", grey(9));  // added
  const cnn::ImageFolderSet added = load();
  EXPECT_FALSE(added.from_cache);
  EXPECT_EQ(added.images.size(), 4u);

  fs::rename(set_ / "cat" / "3.png", set_ / "cat" / "0.png");  // renamed
  const cnn::ImageFolderSet renamed = load();
  EXPECT_FALSE(renamed.from_cache);
  EXPECT_EQ(renamed.files.front(), "cat/0.png");
  EXPECT_EQ(renamed.images.pixels.front(), 9);

  fs::remove(set_ / "cat" / "0.png");  // removed
  const cnn::ImageFolderSet removed = load();
  EXPECT_TRUE(removed.from_cache);  // the same listing as the first load: its file still serves
  EXPECT_EQ(removed.images.size(), 3u);

  std::ofstream(set_ / "notes.txt") << "another ignored file";
  EXPECT_FALSE(load().from_cache);
}

TEST_F(DecodedCacheTest, ChangedOptionsMiss) {
  load();
  cnn::ImageFolderOptions options = options_;
  options.channels = 3;
  EXPECT_FALSE(cnn::load_class_folders(set_, options).from_cache);
  options = options_;
  options.height = 2;
  options.width = 2;
  EXPECT_FALSE(cnn::load_class_folders(set_, options).from_cache);
  options = options_;
  fs::remove(set_ / "dog" / "bad.png");
  options.skip_bad_images = false;
  EXPECT_FALSE(cnn::load_class_folders(set_, options).from_cache);
  EXPECT_TRUE(cnn::load_class_folders(set_, options).from_cache);
  // The same folder by another path is the same folder.
  EXPECT_TRUE(cnn::load_class_folders(set_ / "cat" / "..", options).from_cache);
}

TEST_F(DecodedCacheTest, TestSetWithTrainingClassesHasItsOwnKey) {
  const cnn::ImageFolderSet own = load();
  const std::vector<std::string> training{"ant", "cat", "dog"};
  const cnn::ImageFolderSet with_training = cnn::load_class_folders(set_, options_, &training);
  EXPECT_FALSE(with_training.from_cache);
  EXPECT_EQ(with_training.images.labels, (std::vector<std::uint8_t>{1, 1, 2}));
  EXPECT_TRUE(cnn::load_class_folders(set_, options_, &training).from_cache);
  EXPECT_TRUE(load().from_cache);
}

TEST_F(DecodedCacheTest, DamagedCacheIsRebuiltNotTrusted) {
  const cnn::ImageFolderSet reference = load();
  const fs::path file = cache_file();
  const Bytes good = read_bytes(file);

  Bytes flipped = good;
  flipped[good.size() - 10] ^= 0x01;  // a label or pixel
  write_bytes(file, flipped);
  expect_rebuilt(reference, "checksum mismatch");

  write_bytes(file,
              Bytes(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(good.size() / 2)));
  expect_rebuilt(reference, file.string() + ": ");  // whichever part is found short first

  write_bytes(file, Bytes(good.begin(), good.begin() + 10));
  expect_rebuilt(reference, "too short");

  Bytes magic = good;
  magic[0] = 'X';
  write_bytes(file, magic);
  expect_rebuilt(reference, "no CNNCACHE magic");

  Bytes version = good;
  version[8] = 99;
  write_bytes(file, version);
  expect_rebuilt(reference, "cache format version 99");
}

TEST_F(DecodedCacheTest, UnwritableCacheFolderIsAWarning) {
  std::ofstream(path("a-file")) << "x";
  options_.cache_dir = path("a-file") / "cache";  // its parent is a file: cannot be created
  const cnn::ImageFolderSet set = load();
  EXPECT_FALSE(set.from_cache);
  EXPECT_EQ(set.images.size(), 3u);
  ASSERT_EQ(set.cache_warnings.size(), 1u);
  EXPECT_TRUE(Contains(set.cache_warnings[0], "cannot create the cache folder"));
  EXPECT_TRUE(Contains(set.cache_warnings[0], path("a-file").string()));
}

TEST_F(DecodedCacheTest, ParseRefusesAnythingInconsistent) {
  const cnn::ImageFolderSet set = load();
  const Bytes good = cnn::serialize_cache(42, set);
  std::string reason;
  const auto parsed = cnn::parse_cache(good, "c.bin", 42, &reason);
  ASSERT_TRUE(parsed.has_value()) << reason;
  EXPECT_TRUE(parsed->from_cache);
  expect_same_set(*parsed, set);

  EXPECT_FALSE(cnn::parse_cache(good, "c.bin", 43, &reason));
  EXPECT_TRUE(Contains(reason, "c.bin: written for another folder listing"));
  EXPECT_FALSE(cnn::parse_cache({}, "c.bin", 42, &reason));
  EXPECT_TRUE(Contains(reason, "too short"));

  // A consistent checksum over inconsistent content: a label beyond the classes.
  cnn::ImageFolderSet bad_label = set;
  bad_label.images.labels.back() = 2;
  EXPECT_FALSE(cnn::parse_cache(cnn::serialize_cache(42, bad_label), "c.bin", 42, &reason));
  EXPECT_TRUE(Contains(reason, "a label beyond the class count"));
  cnn::ImageFolderSet short_pixels = set;
  short_pixels.images.pixels.pop_back();
  EXPECT_FALSE(cnn::parse_cache(cnn::serialize_cache(42, short_pixels), "c.bin", 42, &reason));
  EXPECT_TRUE(Contains(reason, "names do not fit their place"));
  cnn::ImageFolderSet two_channels = set;
  two_channels.images.image = cnn::Shape{2, 3, 2};
  EXPECT_FALSE(cnn::parse_cache(cnn::serialize_cache(42, two_channels), "c.bin", 42, &reason));
  EXPECT_TRUE(Contains(reason, "channels not 1 or 3"));

  EXPECT_FALSE(cnn::read_cache(path("absent.bin"), 42, &reason));
  EXPECT_EQ(reason, "");  // a plain miss
}

TEST_F(DecodedCacheTest, KeyDependsOnEveryInput) {
  const std::vector<std::string> classes{"cat", "dog"};
  std::vector<cnn::ListedImageFile> files{{"cat/1.png", 10, 100}, {"dog/1.png", 20, 200}};
  const cnn::ImageFolderOptions plain;
  const std::uint64_t key = cnn::image_folder_cache_key("/x", plain, classes, 0, files);
  EXPECT_EQ(key, cnn::image_folder_cache_key("/x", plain, classes, 0, files));
  EXPECT_NE(key, cnn::image_folder_cache_key("/y", plain, classes, 0, files));
  EXPECT_NE(key, cnn::image_folder_cache_key("/x", plain, classes, 1, files));
  EXPECT_NE(key,
            cnn::image_folder_cache_key("/x", plain, std::vector<std::string>{"cat"}, 0, files));
  for (auto change : {+[](cnn::ListedImageFile& f) { f.size += 1; },
                      +[](cnn::ListedImageFile& f) { f.modified_ns += 1; },
                      +[](cnn::ListedImageFile& f) { f.relative_path = "dog/2.png"; }}) {
    auto changed = files;
    change(changed[1]);
    EXPECT_NE(key, cnn::image_folder_cache_key("/x", plain, classes, 0, changed));
  }
  cnn::ImageFolderOptions options;
  options.channels = 1;
  EXPECT_NE(key, cnn::image_folder_cache_key("/x", options, classes, 0, files));
  options = {};
  options.skip_bad_images = true;
  EXPECT_NE(key, cnn::image_folder_cache_key("/x", options, classes, 0, files));
  EXPECT_EQ(cnn::cache_file_path("/c", 0xabcULL), fs::path("/c/images-0000000000000abc.bin"));
}

TEST(DefaultCacheDir, FollowsXdgThenHome) {
  const char* xdg = getenv("XDG_CACHE_HOME");
  const char* home = getenv("HOME");
  const std::string saved_xdg = xdg ? xdg : "", saved_home = home ? home : "";
  setenv("XDG_CACHE_HOME", "/xdg", 1);
  setenv("HOME", "/home/someone", 1);
  EXPECT_EQ(cnn::default_cache_dir(), fs::path("/xdg/cnn"));
  setenv("XDG_CACHE_HOME", "", 1);
  EXPECT_EQ(cnn::default_cache_dir(), fs::path("/home/someone/.cache/cnn"));
  unsetenv("XDG_CACHE_HOME");
  unsetenv("HOME");
  EXPECT_EQ(cnn::default_cache_dir(), fs::path());
  if (xdg) setenv("XDG_CACHE_HOME", saved_xdg.c_str(), 1);
  if (home) setenv("HOME", saved_home.c_str(), 1);
}

}  // namespace
