// Image folders: class names, order, file selection, the train/val/test layout, the channel and
// size rules, bad images, and their messages.
#include "cnn/data/image_folder.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "assertions.hpp"
#include "cnn/core/parallel.hpp"
#include "cnn/data/image.hpp"
#include "temp_dir.hpp"

namespace {

namespace fs = std::filesystem;
using cnn::testing::Contains;
using cnn::testing::error_message;

// A uniform grey image of the given value.
cnn::Image grey(std::uint8_t value, std::size_t height = 4, std::size_t width = 4) {
  cnn::Image image;
  image.channels = 1;
  image.height = height;
  image.width = width;
  image.pixels.assign(height * width, value);
  return image;
}

// A uniform colour image: planes red, green, blue.
cnn::Image colour(std::uint8_t r, std::uint8_t g, std::uint8_t b, std::size_t height = 4,
                  std::size_t width = 4) {
  cnn::Image image;
  image.channels = 3;
  image.height = height;
  image.width = width;
  const std::size_t plane = height * width;
  image.pixels.resize(3 * plane);
  std::fill_n(image.pixels.begin(), plane, r);
  std::fill_n(image.pixels.begin() + static_cast<std::ptrdiff_t>(plane), plane, g);
  std::fill_n(image.pixels.begin() + static_cast<std::ptrdiff_t>(2 * plane), plane, b);
  return image;
}

void write_text(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

class ImageFolderTest : public cnn::testing::TempDirTest {
 protected:
  ImageFolderTest() : TempDirTest("cnn-image-folder") {}
  void TearDown() override {
    cnn::set_num_threads(1);
    TempDirTest::TearDown();
  }
  // Writes image as a PNG at dir_/relative, creating folders.
  void put(const std::string& relative, const cnn::Image& image) {
    fs::create_directories(path(relative).parent_path());
    cnn::write_png(path(relative), image);
  }
};

TEST_F(ImageFolderTest, ClassNamesAreSortedByBytesAndImagesInClassThenFileOrder) {
  put("dog/b.png", grey(1));
  put("dog/a.png", grey(2));
  put("cat/9.png", grey(3));
  put("cat/10.png", grey(4));
  put("Zebra/z.png", grey(5));
  const cnn::ImageFolderSet set = cnn::load_class_folders(dir_, {});
  EXPECT_EQ(set.images.class_names, (std::vector<std::string>{"Zebra", "cat", "dog"}));
  EXPECT_EQ(set.files, (std::vector<std::string>{"Zebra/z.png", "cat/10.png", "cat/9.png",
                                                 "dog/a.png", "dog/b.png"}));
  EXPECT_EQ(set.images.labels, (std::vector<std::uint8_t>{0, 1, 1, 2, 2}));
  ASSERT_EQ(set.images.image, (cnn::Shape{1, 4, 4}));
  ASSERT_EQ(set.images.pixels.size(), 5u * 16);
  const std::vector<std::uint8_t> first_pixels{5, 4, 3, 2, 1};
  for (std::size_t i = 0; i < 5; ++i) EXPECT_EQ(set.images.pixels[i * 16], first_pixels[i]);
  EXPECT_FALSE(set.from_cache);
  EXPECT_TRUE(set.skipped.empty());
}

TEST_F(ImageFolderTest, ExtensionsMatchInAnyCaseHiddenEntriesAreSkippedOtherFilesCounted) {
  put("a/1.PNG", grey(1));
  put("a/2.JpEg", grey(2));  // the format comes from the bytes, the name only selects the file
  put("a/3.jpg", grey(3));
  put("a/4.Pgm", grey(4));
  put("a/5.ppm", grey(5));
  put("a/.6.png", grey(6));        // hidden file
  put(".hidden/7.png", grey(7));   // hidden class folder
  put("a/nested/8.png", grey(8));  // nested folder: ignored, counted
  write_text(path("a/notes.txt"), "not an image");
  write_text(path("a/picture.gif"), "GIF89a");
  write_text(path("a/png"), "no extension");
  write_text(path("README.md"), "the set");
  const cnn::ImageFolderSet set = cnn::load_class_folders(dir_, {});
  EXPECT_EQ(set.images.class_names, (std::vector<std::string>{"a"}));
  EXPECT_EQ(set.files,
            (std::vector<std::string>{"a/1.PNG", "a/2.JpEg", "a/3.jpg", "a/4.Pgm", "a/5.ppm"}));
  EXPECT_EQ(set.ignored_files, 5u);  // nested/, notes.txt, picture.gif, png, README.md
}

TEST_F(ImageFolderTest, TrainValidationAndTestShareTrainingClasses) {
  put("train/cat/1.png", grey(1));
  put("train/dog/1.png", grey(2));
  put("train/emu/1.png", grey(3));
  put("val/emu/1.png", grey(4));
  put("test/cat/1.png", grey(5));
  put("test/emu/1.png", grey(6));
  ASSERT_TRUE(cnn::is_image_folder_root(dir_));
  const cnn::ImageFolderSplits splits = cnn::load_image_folders(dir_, {});
  EXPECT_EQ(splits.train.images.class_names, (std::vector<std::string>{"cat", "dog", "emu"}));
  ASSERT_TRUE(splits.validation.has_value());
  ASSERT_TRUE(splits.test.has_value());
  EXPECT_EQ(splits.validation->images.class_names, splits.train.images.class_names);
  EXPECT_EQ(splits.validation->images.labels, (std::vector<std::uint8_t>{2}));
  EXPECT_EQ(splits.test->images.class_names, splits.train.images.class_names);
  EXPECT_EQ(splits.test->images.labels, (std::vector<std::uint8_t>{0, 2}));
}

TEST_F(ImageFolderTest, WithoutTrainFolderTheFolderIsOneSet) {
  put("cat/1.png", grey(1));
  put("dog/1.png", grey(2));
  ASSERT_TRUE(cnn::is_image_folder_root(dir_));
  const cnn::ImageFolderSplits splits = cnn::load_image_folders(dir_, {});
  EXPECT_EQ(splits.train.images.class_names, (std::vector<std::string>{"cat", "dog"}));
  EXPECT_EQ(splits.train.images.size(), 2u);
  EXPECT_FALSE(splits.validation.has_value());
  EXPECT_FALSE(splits.test.has_value());
}

TEST_F(ImageFolderTest, TestClassMissingFromTrainIsNamed) {
  put("train/cat/1.png", grey(1));
  put("train/dog/1.png", grey(2));
  put("test/zebra/1.png", grey(3));
  const std::string message =
      error_message<cnn::DataError>([&] { cnn::load_image_folders(dir_, {}); });
  EXPECT_TRUE(
      Contains(message, (fs::path("test") / "zebra").string() +
                            ": class 'zebra' is not among the training classes (cat, dog)"));
}

TEST_F(ImageFolderTest, EmptyClassFolderIsAnError) {
  put("cat/1.png", grey(1));
  fs::create_directories(path("dog"));
  write_text(path("dog/notes.txt"), "nothing");
  const std::string message =
      error_message<cnn::DataError>([&] { cnn::load_class_folders(dir_, {}); });
  EXPECT_TRUE(
      Contains(message, path("dog").string() + ": no images (.png, .jpg, .jpeg, .pgm, .ppm)"));
}

TEST_F(ImageFolderTest, MissingFolderAndFolderWithoutClassesAreErrors) {
  EXPECT_TRUE(
      Contains(error_message<cnn::DataError>([&] { cnn::load_class_folders(path("absent"), {}); }),
               path("absent").string() + ": no such folder"));
  EXPECT_TRUE(
      Contains(error_message<cnn::DataError>([&] { cnn::load_image_folders(path("absent"), {}); }),
               "no such folder"));
  write_text(path("loose.png"), "x");
  EXPECT_TRUE(Contains(error_message<cnn::DataError>([&] { cnn::load_class_folders(dir_, {}); }),
                       dir_.string() + ": no class folders"));
  EXPECT_FALSE(cnn::is_class_folder_set(dir_));
  EXPECT_FALSE(cnn::is_image_folder_root(dir_));
  EXPECT_FALSE(cnn::is_image_folder_root(path("absent")));
}

TEST_F(ImageFolderTest, MoreClassesThanLabelsCanHoldIsAnError) {
  for (std::size_t i = 0; i <= cnn::kMaxClasses; ++i) {
    // (Appended piece by piece: GCC 12 warns wrongly (-Wrestrict) about "c" + to_string(i).)
    std::string name = "c";
    name += std::to_string(i);
    name += "/1.png";
    put(name, grey(static_cast<std::uint8_t>(i), 1, 1));
  }
  EXPECT_TRUE(Contains(error_message<cnn::DataError>([&] { cnn::load_class_folders(dir_, {}); }),
                       "257 class folders, at most 256"));
}

TEST_F(ImageFolderTest, CorruptImageIsNamedOrSkipped) {
  put("cat/1.png", grey(1));
  put("cat/3.png", grey(3));
  write_text(path("cat/2.png"), "this is not a PNG at all");
  const std::string message =
      error_message<cnn::DataError>([&] { cnn::load_class_folders(dir_, {}); });
  EXPECT_TRUE(Contains(message, path("cat/2.png").string()));

  cnn::ImageFolderOptions options;
  options.skip_bad_images = true;
  const cnn::ImageFolderSet set = cnn::load_class_folders(dir_, options);
  EXPECT_EQ(set.files, (std::vector<std::string>{"cat/1.png", "cat/3.png"}));
  ASSERT_EQ(set.skipped.size(), 1u);
  EXPECT_TRUE(Contains(set.skipped[0], path("cat/2.png").string() + ": "));
  EXPECT_EQ(set.images.pixels.size(), 2u * 16);
  EXPECT_EQ(set.images.pixels[16], 3);
}

TEST_F(ImageFolderTest, NothingLeftAfterSkippingIsAnError) {
  write_text(path("cat/1.png"), "junk");
  write_text(path("cat/2.jpg"), "");
  cnn::ImageFolderOptions options;
  options.skip_bad_images = true;
  EXPECT_TRUE(
      Contains(error_message<cnn::DataError>([&] { cnn::load_class_folders(dir_, options); }),
               "no images left after skipping 2"));
}

TEST_F(ImageFolderTest, AnotherSizeIsAnErrorUnlessResized) {
  put("cat/1.png", grey(1, 4, 4));
  put("dog/1.png", grey(2, 5, 6));
  const std::string message =
      error_message<cnn::DataError>([&] { cnn::load_class_folders(dir_, {}); });
  EXPECT_TRUE(Contains(message, path("dog/1.png").string() + ": the image is 5x6"));
  EXPECT_TRUE(Contains(message, "expected 4x4"));
  EXPECT_TRUE(Contains(message, "--image-size HxW"));

  cnn::ImageFolderOptions options;
  options.height = 3;
  options.width = 2;
  const cnn::ImageFolderSet set = cnn::load_class_folders(dir_, options);
  EXPECT_EQ(set.images.image, (cnn::Shape{1, 3, 2}));
  EXPECT_EQ(set.images.pixels, (std::vector<std::uint8_t>{1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2}));
}

TEST_F(ImageFolderTest, BadOptionsAreErrors) {
  put("cat/1.png", grey(1));
  cnn::ImageFolderOptions options;
  options.channels = 2;
  EXPECT_TRUE(
      Contains(error_message<cnn::DataError>([&] { cnn::load_class_folders(dir_, options); }),
               "channels must be 1 or 3"));
  options.channels = 0;
  options.height = 3;
  EXPECT_TRUE(
      Contains(error_message<cnn::DataError>([&] { cnn::load_class_folders(dir_, options); }),
               "give both height and width"));
}

TEST_F(ImageFolderTest, OneColourImageMakesTheSetColour) {
  put("a/1.png", grey(10));
  put("a/2.png", grey(20));
  put("b/1.png", colour(200, 100, 50));
  put("b/2.png", grey(30));
  const cnn::ImageFolderSet set = cnn::load_class_folders(dir_, {});
  ASSERT_EQ(set.images.image, (cnn::Shape{3, 4, 4}));
  ASSERT_EQ(set.images.pixels.size(), 4u * 3 * 16);
  // Grey images become three equal planes, whether stored before or after the colour image.
  const std::vector<std::uint8_t> expected_planes{10, 10, 10, 20, 20, 20, 200, 100, 50, 30, 30, 30};
  for (std::size_t plane = 0; plane < expected_planes.size(); ++plane) {
    for (std::size_t p = 0; p < 16; ++p) {
      ASSERT_EQ(set.images.pixels[plane * 16 + p], expected_planes[plane]) << plane << " " << p;
    }
  }
}

TEST_F(ImageFolderTest, AllGreyStaysOneChannelAndChannelsCanBeForced) {
  put("a/1.png", grey(10));
  put("a/2.png", grey(20));
  EXPECT_EQ(cnn::load_class_folders(dir_, {}).images.image, (cnn::Shape{1, 4, 4}));
  cnn::ImageFolderOptions options;
  options.channels = 3;
  const cnn::ImageFolderSet widened = cnn::load_class_folders(dir_, options);
  EXPECT_EQ(widened.images.image, (cnn::Shape{3, 4, 4}));
  EXPECT_EQ(widened.images.pixels.size(), 2u * 3 * 16);

  put("b/1.png", colour(200, 100, 50));
  options.channels = 1;
  const cnn::ImageFolderSet forced = cnn::load_class_folders(dir_, options);
  EXPECT_EQ(forced.images.image, (cnn::Shape{1, 4, 4}));
  EXPECT_EQ(forced.images.pixels.size(), 3u * 16);
  EXPECT_EQ(forced.images.pixels[0], 10);
}

TEST_F(ImageFolderTest, ColourTrainingSetMakesTestColourAndOfItsSize) {
  put("train/cat/1.png", colour(1, 2, 3));
  put("train/dog/1.png", grey(4));
  put("test/dog/1.png", grey(9, 8, 8));
  const cnn::ImageFolderSplits splits = cnn::load_image_folders(dir_, {});
  ASSERT_TRUE(splits.test.has_value());
  EXPECT_EQ(splits.test->images.image, (cnn::Shape{3, 4, 4}));
  EXPECT_EQ(splits.test->images.pixels, std::vector<std::uint8_t>(3 * 16, 9));
  EXPECT_EQ(splits.test->images.labels, (std::vector<std::uint8_t>{1}));
}

TEST_F(ImageFolderTest, ProgressIsReportedPerChunkAndThreadsGiveTheSameSet) {
  constexpr std::size_t kImages = 600;
  for (std::size_t i = 0; i < kImages; ++i) {
    put((i % 2 ? "odd/" : "even/") + std::to_string(i) + ".png",
        grey(static_cast<std::uint8_t>(i), 2, 3));
  }
  std::vector<std::pair<std::size_t, std::size_t>> calls;
  cnn::ImageFolderOptions options;
  options.progress = [&](std::size_t done, std::size_t total) { calls.emplace_back(done, total); };
  const cnn::ImageFolderSet one_thread = cnn::load_class_folders(dir_, options);
  EXPECT_EQ(calls, (std::vector<std::pair<std::size_t, std::size_t>>{{512, 600}, {600, 600}}));

  cnn::set_num_threads(4);
  const cnn::ImageFolderSet four_threads = cnn::load_class_folders(dir_, {});
  EXPECT_EQ(four_threads.files, one_thread.files);
  EXPECT_EQ(four_threads.images.pixels, one_thread.images.pixels);
  EXPECT_EQ(four_threads.images.labels, one_thread.images.labels);
  EXPECT_EQ(one_thread.images.size(), kImages);
}

TEST_F(ImageFolderTest, ClassFolderSetNeedsAnImageInASubFolder) {
  fs::create_directories(path("cat"));
  write_text(path("cat/notes.txt"), "x");
  EXPECT_FALSE(cnn::is_class_folder_set(dir_));
  put(".hidden/1.png", grey(1));
  EXPECT_FALSE(cnn::is_class_folder_set(dir_));
  put("cat/1.png", grey(1));
  EXPECT_TRUE(cnn::is_class_folder_set(dir_));
  EXPECT_FALSE(cnn::is_class_folder_set(path("cat/1.png")));
}

TEST_F(ImageFolderTest, SymbolicLinksAreFollowed) {
  put("elsewhere/a.png", grey(7));
  fs::create_directories(path("set/cat"));
  fs::create_directory_symlink(path("elsewhere"), path("set/dog"));
  fs::create_symlink(path("elsewhere/a.png"), path("set/cat/link.png"));
  const cnn::ImageFolderSet set = cnn::load_class_folders(path("set"), {});
  EXPECT_EQ(set.files, (std::vector<std::string>{"cat/link.png", "dog/a.png"}));
  EXPECT_EQ(set.images.pixels, std::vector<std::uint8_t>(2 * 16, 7));
}

}  // namespace
