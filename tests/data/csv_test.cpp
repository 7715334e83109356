#include "cnn/data/csv.hpp"

#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "assertions.hpp"
#include "temp_dir.hpp"

namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<std::uint8_t>;

using cnn::testing::Contains;
using cnn::testing::error_message;

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  ASSERT_TRUE(out.good()) << "cannot write " << path;
}

void write_gzip(const fs::path& path, const std::string& text) {
  gzFile file = gzopen(path.c_str(), "wb");
  ASSERT_NE(file, nullptr);
  ASSERT_EQ(gzwrite(file, text.data(), static_cast<unsigned>(text.size())),
            static_cast<int>(text.size()));
  ASSERT_EQ(gzclose(file), Z_OK);
}

// Every line ending LF becomes CR LF.
std::string with_crlf(const std::string& text) {
  std::string out;
  for (const char c : text) {
    if (c == '\n') out += '\r';
    out += c;
  }
  return out;
}

cnn::LabelledImages parse(const std::string& text, cnn::CsvShape shape = {}) {
  return cnn::parse_labelled_csv(text, "train.csv", shape);
}

// The message of the DataError that parsing `text` as a labelled CSV throws.
std::string labelled_error(const std::string& text, cnn::CsvShape shape = {}) {
  return error_message<cnn::DataError>([&] { parse(text, shape); });
}

std::string pixel_error(const std::string& text, const cnn::Shape& image) {
  return error_message<cnn::DataError>([&] { cnn::parse_pixel_csv(text, "test.csv", image); });
}

// `count` images of `shape` with every byte value among their pixels and labels 0..classes-1.
cnn::LabelledImages sample_images(std::size_t count, const cnn::Shape& shape, std::size_t classes) {
  cnn::LabelledImages images;
  images.image = shape;
  for (std::size_t i = 0; i < count * shape.numel(); ++i) {
    images.pixels.push_back(static_cast<std::uint8_t>((i * 37 + 11) % 256));
  }
  for (std::size_t i = 0; i < count; ++i) {
    images.labels.push_back(static_cast<std::uint8_t>((i * 7 + 3) % classes));
  }
  images.class_names = cnn::numbered_class_names(classes);
  return images;
}

class CsvTest : public cnn::testing::TempDirTest {
 protected:
  CsvTest() : TempDirTest("cnn-csv-test") {}
};

TEST_F(CsvTest, RoundTripWithAndWithoutHeader) {
  // 1x3x3: a square pixel count, so no shape needs giving; labels up to 9.
  const cnn::LabelledImages images = sample_images(40, cnn::Shape{1, 3, 3}, 10);
  for (const bool header : {true, false}) {
    SCOPED_TRACE(header ? "header" : "no header");
    const fs::path file = path("train.csv");
    cnn::write_csv(file, images, header);

    const std::string text = read_text(file);
    const std::string first_row = "3,11,48,85,122,159,196,233,14,51\n";
    if (header) {
      EXPECT_TRUE(
          text.starts_with("label,pixel0,pixel1,pixel2,pixel3,pixel4,pixel5,pixel6,"
                           "pixel7,pixel8\n" +
                           first_row))
          << text.substr(0, 100);
    } else {
      EXPECT_TRUE(text.starts_with(first_row)) << text.substr(0, 100);
    }

    const cnn::LabelledImages back = cnn::load_labelled_csv(file, {});
    EXPECT_EQ(back.image, (cnn::Shape{1, 3, 3}));
    EXPECT_EQ(back.pixels, images.pixels);
    EXPECT_EQ(back.labels, images.labels);
    EXPECT_EQ(back.class_names, cnn::numbered_class_names(10));
  }
}

TEST_F(CsvTest, ClassesAreTheLargestLabelPlusOne) {
  const cnn::LabelledImages images = parse("2,0,0,0,0\n0,1,1,1,1\n200,5,5,5,5\n");
  EXPECT_EQ(images.labels, (Bytes{2, 0, 200}));
  ASSERT_EQ(images.class_names.size(), 201u);
  EXPECT_EQ(images.class_names.back(), "200");
}

TEST_F(CsvTest, HeaderIsDetectedByAFieldThatIsNotAnInteger) {
  // Kaggle's header.
  cnn::LabelledImages images = parse("label,pixel0,pixel1,pixel2,pixel3\n7,1,2,3,4\n");
  EXPECT_EQ(images.labels, Bytes{7});
  EXPECT_EQ(images.pixels, (Bytes{1, 2, 3, 4}));

  // One word among numbers is enough.
  images = parse("0,1,x,3,4\n7,1,2,3,4\n");
  EXPECT_EQ(images.labels, Bytes{7});

  // All integers: the first line is an image.
  images = parse("5,0,0,0,0\n7,1,2,3,4\n");
  EXPECT_EQ(images.labels, (Bytes{5, 7}));
  EXPECT_EQ(images.pixels, (Bytes{0, 0, 0, 0, 1, 2, 3, 4}));

  // A quoted header is a header too.
  images = parse("\"label\",\"pixel0\"\n3,9\n");
  EXPECT_EQ(images.image, (cnn::Shape{1, 1, 1}));
  EXPECT_EQ(images.pixels, Bytes{9});
}

TEST_F(CsvTest, CrLfByteOrderMarkSpacesAndBlankEnd) {
  const std::string text = "label,pixel0,pixel1,pixel2,pixel3\n1,10,20,30,40\n2,50,60,70,80\n";
  for (const std::string& variant :
       {with_crlf(text), "\xEF\xBB\xBF" + text, text + "\n\n  \n", text.substr(0, text.size() - 1),
        with_crlf(text) + "\r\n",
        std::string("\xEF\xBB\xBF") + "1, 10 ,20,\t30,40\r\n2 ,50,60,70,80"}) {
    SCOPED_TRACE(variant);
    const cnn::LabelledImages images = parse(variant);
    EXPECT_EQ(images.image, (cnn::Shape{1, 2, 2}));
    EXPECT_EQ(images.labels, (Bytes{1, 2}));
    EXPECT_EQ(images.pixels, (Bytes{10, 20, 30, 40, 50, 60, 70, 80}));
  }
}

TEST_F(CsvTest, GzipCompressedFile) {
  const cnn::LabelledImages images = sample_images(5, cnn::Shape{1, 4, 4}, 3);
  cnn::write_csv(path("plain.csv"), images, true);
  write_gzip(path("train.csv.gz"), read_text(path("plain.csv")));
  const cnn::LabelledImages back = cnn::load_labelled_csv(path("train.csv.gz"), {});
  EXPECT_EQ(back.pixels, images.pixels);
  EXPECT_EQ(back.labels, images.labels);

  // Compressed text under a plain name, and for the pixel reader.
  write_gzip(path("test.csv"), "pixel0,pixel1,pixel2,pixel3\n1,2,3,4\n");
  const cnn::CsvPixels pixels = cnn::load_pixel_csv(path("test.csv"), cnn::Shape{1, 2, 2});
  EXPECT_EQ(pixels.pixels, (Bytes{1, 2, 3, 4}));
}

TEST_F(CsvTest, ColourImagesAreReadPlanarWithAShape) {
  // 3 channels of 2x3: channel 0 is 1..6, channel 1 is 11..16, channel 2 is 21..26.
  const std::string row = "4,1,2,3,4,5,6,11,12,13,14,15,16,21,22,23,24,25,26\n";
  const Bytes planar = {1, 2, 3, 4, 5, 6, 11, 12, 13, 14, 15, 16, 21, 22, 23, 24, 25, 26};
  for (const cnn::CsvShape shape : {cnn::CsvShape{0, 2, 3}, cnn::CsvShape{3, 2, 3}}) {
    const cnn::LabelledImages images = parse(row + row, shape);
    EXPECT_EQ(images.image, (cnn::Shape{3, 2, 3}));
    EXPECT_EQ(images.pixels.size(), 36u);
    EXPECT_EQ(Bytes(images.pixels.begin(), images.pixels.begin() + 18), planar);
    EXPECT_EQ(images.labels, (Bytes{4, 4}));
  }
  // The same 18 pixels as one grey 3x6 image.
  EXPECT_EQ(parse(row, {0, 3, 6}).image, (cnn::Shape{1, 3, 6}));
  // Channels and no size: channels x s x s.
  EXPECT_EQ(parse("0,1,2,3,4,5,6,7,8,9,10,11,12\n", {3, 0, 0}).image, (cnn::Shape{3, 2, 2}));

  // Round trip of colour images through the writer.
  const cnn::LabelledImages colour = sample_images(6, cnn::Shape{3, 4, 5}, 4);
  cnn::write_csv(path("colour.csv"), colour, true);
  const cnn::LabelledImages back = cnn::load_labelled_csv(path("colour.csv"), {3, 4, 5});
  EXPECT_EQ(back.image, colour.image);
  EXPECT_EQ(back.pixels, colour.pixels);
  EXPECT_EQ(back.labels, colour.labels);
}

TEST_F(CsvTest, PixelCountThatDoesNotFitTheShape) {
  // No shape: the pixels must be a square number.
  EXPECT_TRUE(Contains(labelled_error("label,a,b,c\n1,2,3,4\n"),
                       "train.csv: line 2: 3 pixels after the label is not a square number, so "
                       "not a square image's; expected s·s pixels (784 for 28x28)"));
  EXPECT_TRUE(Contains(labelled_error("1,2,3,4,5,6\n", {3, 0, 0}),
                       "train.csv: line 1: 5 pixels after the label is not 3 times a square "
                       "number"));
  // A size that does not divide the pixels.
  EXPECT_TRUE(Contains(labelled_error("1,2,3,4,5,6,7\n", {0, 2, 2}),
                       "train.csv: line 1: 6 pixels after the label is not a whole number of 2x2 "
                       "channels; expected a multiple of 4 (2x2)"));
  // Two channels are neither grey nor colour.
  EXPECT_TRUE(Contains(labelled_error("1,2,3,4,5,6,7,8,9\n", {0, 2, 2}),
                       "train.csv: line 1: 8 pixels after the label make 2 channels of 2x2; "
                       "expected 1 (grey, 4 pixels) or 3 (colour, 12 pixels)"));
  // Channels given, and the row holds another number.
  EXPECT_TRUE(Contains(labelled_error("1,2,3,4,5\n", {3, 2, 2}),
                       "train.csv: line 1: 4 pixels after the label make 1 channel of 2x2; "
                       "expected 3 (3x2x2 = 12 pixels)"));
  // Only one of height and width is the caller's mistake.
  EXPECT_THROW(parse("1,2,3,4,5\n", {0, 2, 0}), std::invalid_argument);
}

TEST_F(CsvTest, WrongNumberOfValues) {
  const std::string header = "label,pixel0,pixel1,pixel2,pixel3\n";
  EXPECT_TRUE(Contains(labelled_error(header + "1,2,3,4,5\n6,7,8,9\n"),
                       "train.csv: line 3: 4 values, expected 5 (a label and 4 pixels of a "
                       "1x2x2 image, as on line 2)"));
  EXPECT_TRUE(Contains(labelled_error(header + "1,2,3,4,5\n6,7,8,9,10,11\n"),
                       "train.csv: line 3: 6 values, expected 5"));
  // A trailing comma is one value too many.
  EXPECT_TRUE(Contains(labelled_error("1,2,3,4,5\n6,7,8,9,10,\n"),
                       "train.csv: line 2: 6 values, expected 5"));
  // A label alone.
  EXPECT_TRUE(Contains(labelled_error("label\n3\n"),
                       "train.csv: line 2: 1 value; expected a label, then the pixels"));
  // A header that does not match the rows.
  EXPECT_TRUE(Contains(labelled_error("label,pixel0,pixel1,pixel2\n1,2,3,4,5\n"),
                       "train.csv: line 1: the header has 4 fields but line 2 has 5 values; "
                       "expected one header field per column"));
}

TEST_F(CsvTest, ValuesThatAreNotNumbersNameLineAndColumn) {
  const std::string good = "1,2,3,4,5\n";
  EXPECT_TRUE(Contains(labelled_error(good + "1,2,abc,4,5\n"),
                       "train.csv: line 2, column 3: \"abc\" is not an integer; expected a pixel "
                       "0..255"));
  EXPECT_TRUE(Contains(labelled_error(good + "1,2,3,4,5x\n"),
                       "train.csv: line 2, column 5: \"5x\" is not an integer"));
  EXPECT_TRUE(Contains(labelled_error(good + "1,2,3.5,4,5\n"),
                       "train.csv: line 2, column 3: \"3.5\" is not an integer"));
  EXPECT_TRUE(Contains(labelled_error(good + "1,2,,4,5\n"),
                       "train.csv: line 2, column 3: empty field; expected a pixel 0..255"));
  EXPECT_TRUE(Contains(labelled_error(good + "x1,2,3,4,5\n"),
                       "train.csv: line 2, column 1: \"x1\" is not an integer; expected a label: "
                       "a class number 0..255"));
  EXPECT_TRUE(Contains(labelled_error(good + "1,2,3,4,+5\n"),
                       "train.csv: line 2, column 5: \"+5\" is not an integer"));
  // Unprintable bytes are shown escaped, long fields cut.
  EXPECT_TRUE(Contains(labelled_error(good + std::string("1,2,\x01\xff,4,5\n")),
                       "line 2, column 3: \"\\x01\\xFF\" is not an integer"));
  EXPECT_TRUE(Contains(labelled_error(good + "1,2," + std::string(100, 'z') + ",4,5\n"),
                       "\"" + std::string(24, 'z') + "...\" is not an integer"));
}

TEST_F(CsvTest, ValuesOutOfRange) {
  const std::string good = "1,2,3,4,5\n";
  EXPECT_TRUE(Contains(labelled_error(good + "1,2,256,4,5\n"),
                       "train.csv: line 2, column 3: pixel 256 is out of range; expected a pixel "
                       "0..255"));
  EXPECT_TRUE(Contains(labelled_error(good + "1,2,3,4,-1\n"),
                       "train.csv: line 2, column 5: pixel -1 is out of range"));
  EXPECT_TRUE(Contains(labelled_error(good + "-1,2,3,4,5\n"),
                       "train.csv: line 2, column 1: label -1 is out of range; expected a label: "
                       "a class number 0..255"));
  EXPECT_TRUE(Contains(labelled_error(good + "256,2,3,4,5\n"),
                       "train.csv: line 2, column 1: label 256 is out of range"));
  // Beyond any integer type.
  EXPECT_TRUE(Contains(labelled_error(good + "1,2,99999999999999999999999,4,5\n"),
                       "train.csv: line 2, column 3: pixel 99999999999999999999999 is out of "
                       "range"));
}

TEST_F(CsvTest, EmptyFileAndHeaderAlone) {
  for (const std::string& empty :
       {std::string(), std::string("\n\n"), std::string(" \r\n"), std::string("\xEF\xBB\xBF")}) {
    EXPECT_TRUE(Contains(labelled_error(empty),
                         "train.csv: empty file; expected one image per line (a label, then the "
                         "pixels), after an optional header line"));
    EXPECT_TRUE(Contains(pixel_error(empty, cnn::Shape{1, 2, 2}),
                         "test.csv: empty file; expected one image per line (the 4 pixels of a "
                         "1x2x2 image, optionally after a label)"));
  }
  for (const std::string& header : {std::string("label,pixel0"), std::string("label,pixel0\n"),
                                    std::string("label,pixel0\r\n\r\n")}) {
    EXPECT_TRUE(Contains(labelled_error(header),
                         "train.csv: line 1 is a header and no images follow it; expected one "
                         "image per line (a label, then the pixels) after the header"));
  }
}

TEST_F(CsvTest, OtherSeparatorsAndUtf16AreNamed) {
  EXPECT_TRUE(Contains(labelled_error("label;pixel0;pixel1\n1;2;3\n"),
                       "train.csv: line 2: 1 value; expected a label, then the pixels of an image "
                       "(fields are separated by commas; this line has none but has semicolons)"));
  EXPECT_TRUE(Contains(pixel_error("p0\tp1\tp2\tp3\n1\t2\t3\t4\n", cnn::Shape{1, 2, 2}),
                       "test.csv: line 2: 1 value; expected 4 (the pixels of a 1x2x2 image) or 5 "
                       "(a label, then the pixels) (fields are separated by commas; this line has "
                       "none but has tabs)"));
  // A line with one value and no other separator gets no note.
  EXPECT_FALSE(Contains(labelled_error("label\n3\n"), "separated"));

  const std::string utf16("\xFF\xFEl\0a\0b\0\n\0", 10);
  EXPECT_TRUE(Contains(labelled_error(utf16),
                       "train.csv: UTF-16 text (it starts with a UTF-16 byte order mark); expected "
                       "ASCII or UTF-8 text"));
  EXPECT_TRUE(Contains(pixel_error(std::string("\xFE\xFF\0"
                                               "1",
                                               4),
                                   cnn::Shape{1, 1, 1}),
                       "test.csv: UTF-16 text"));
}

TEST_F(CsvTest, BlankLineBeforeTheEnd) {
  EXPECT_TRUE(Contains(labelled_error("1,2,3,4,5\n\n6,7,8,9,10\n"),
                       "train.csv: line 2: blank line; expected an image (a label and 4 pixels "
                       "of a 1x2x2 image); blank lines are allowed only at the end"));
  EXPECT_TRUE(Contains(labelled_error("label,a\n\n6,7\n"),
                       "train.csv: line 2: blank line; expected an image"));
  EXPECT_TRUE(Contains(labelled_error("\n6,7\n"), "train.csv: line 1: blank line"));
}

TEST_F(CsvTest, PixelCsvWithoutLabels) {
  // Kaggle's test.csv: a header of pixel names, then the pixels alone.
  const std::string text =
      "pixel0,pixel1,pixel2,pixel3,pixel4,pixel5\n1,2,3,4,5,6\n7,8,9,10,11,12\n";
  const cnn::CsvPixels pixels = cnn::parse_pixel_csv(text, "test.csv", cnn::Shape{1, 2, 3});
  EXPECT_EQ(pixels.image, (cnn::Shape{1, 2, 3}));
  EXPECT_EQ(pixels.pixels, (Bytes{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}));
  EXPECT_FALSE(pixels.labels.has_value());
  EXPECT_EQ(pixels.first_line, 2u);
  EXPECT_EQ(pixels.size(), 2u);

  // Without the header the first image is on line 1.
  const cnn::CsvPixels no_header =
      cnn::parse_pixel_csv(with_crlf("1,2,3,4,5,6\n"), "test.csv", cnn::Shape{1, 2, 3});
  EXPECT_EQ(no_header.first_line, 1u);
  EXPECT_EQ(no_header.pixels, (Bytes{1, 2, 3, 4, 5, 6}));
}

TEST_F(CsvTest, PixelCsvWithLabels) {
  const cnn::CsvPixels pixels = cnn::parse_pixel_csv(
      std::string("label,p0,p1,p2,p3\n9,1,2,3,4\n0,5,6,7,8\n"), "test.csv", cnn::Shape{1, 2, 2});
  ASSERT_TRUE(pixels.labels.has_value());
  EXPECT_EQ(*pixels.labels, (Bytes{9, 0}));
  EXPECT_EQ(pixels.pixels, (Bytes{1, 2, 3, 4, 5, 6, 7, 8}));
  EXPECT_EQ(pixels.first_line, 2u);

  // A labelled CSV written for training serves for prediction too.
  const cnn::LabelledImages images = sample_images(3, cnn::Shape{3, 2, 2}, 5);
  cnn::write_csv(path("colour.csv"), images, false);
  const cnn::CsvPixels back = cnn::load_pixel_csv(path("colour.csv"), cnn::Shape{3, 2, 2});
  EXPECT_EQ(back.pixels, images.pixels);
  EXPECT_EQ(back.labels, images.labels);
}

TEST_F(CsvTest, PixelCsvRowsMustAgreeWithTheShapeAndTheFirstRow) {
  const cnn::Shape image{1, 2, 2};
  EXPECT_TRUE(Contains(pixel_error("1,2,3\n", image),
                       "test.csv: line 1: 3 values; expected 4 (the pixels of a 1x2x2 image) or "
                       "5 (a label, then the pixels)"));
  EXPECT_TRUE(Contains(pixel_error("p0,p1,p2,p3,p4,p5\n1,2,3,4,5,6\n", image),
                       "test.csv: line 2: 6 values; expected 4"));
  // The first row has no label, the second one has one.
  EXPECT_TRUE(Contains(pixel_error("1,2,3,4\n5,6,7,8,9\n", image),
                       "test.csv: line 2: 5 values, expected 4 (4 pixels of a 1x2x2 image, as on "
                       "line 1)"));
  // And the other way round.
  EXPECT_TRUE(Contains(pixel_error("1,2,3,4,5\n5,6,7,8\n", image),
                       "test.csv: line 2: 4 values, expected 5 (a label and 4 pixels of a 1x2x2 "
                       "image, as on line 1)"));
  EXPECT_TRUE(Contains(pixel_error("1,2,3,4\n5,6,300,8\n", image),
                       "test.csv: line 2, column 3: pixel 300 is out of range"));
  EXPECT_TRUE(Contains(pixel_error("1,2,3,4,5\n-5,6,7,8,9\n", image),
                       "test.csv: line 2, column 1: label -5 is out of range"));
  EXPECT_TRUE(Contains(pixel_error("p0,p1,p2\n1,2,3,4\n", image),
                       "test.csv: line 1: the header has 3 fields but line 2 has 4 values"));
  EXPECT_TRUE(Contains(pixel_error("p0,p1,p2,p3", image),
                       "test.csv: line 1 is a header and no images follow it"));
  EXPECT_THROW(cnn::parse_pixel_csv("1\n", "test.csv", cnn::Shape{2, 2}), std::invalid_argument);
  EXPECT_THROW(cnn::parse_pixel_csv("1\n", "test.csv", cnn::Shape{1, 0, 2}), std::invalid_argument);
}

TEST_F(CsvTest, FileProblemsNameTheFile) {
  const fs::path missing = path("train.csv");
  EXPECT_TRUE(Contains(error_message<cnn::DataError>([&] { cnn::load_labelled_csv(missing, {}); }),
                       missing.string() + ": no such file"));
  EXPECT_TRUE(Contains(error_message<cnn::DataError>([&] {
                         cnn::load_pixel_csv(missing, cnn::Shape{1, 2, 2});
                       }),
                       missing.string() + ": no such file"));

  write_text(path("bad.csv"), "1,2,3,4,5\n1,2,3\n");
  EXPECT_TRUE(
      Contains(error_message<cnn::DataError>([&] { cnn::load_labelled_csv(path("bad.csv"), {}); }),
               path("bad.csv").string() + ": line 2: 3 values, expected 5"));
  // In a compressed file, the lines are those of the text inside.
  write_gzip(path("bad.csv.gz"), "1,2,3,4,5\n1,2,3,4,x\n");
  EXPECT_TRUE(Contains(
      error_message<cnn::DataError>([&] { cnn::load_labelled_csv(path("bad.csv.gz"), {}); }),
      path("bad.csv.gz").string() + ": line 2, column 5: \"x\" is not an integer"));
}

TEST_F(CsvTest, WriterErrors) {
  cnn::LabelledImages images = sample_images(2, cnn::Shape{1, 2, 2}, 2);
  const fs::path no_folder = path("no-such-folder") / "train.csv";
  EXPECT_TRUE(
      Contains(error_message<cnn::DataError>([&] { cnn::write_csv(no_folder, images, true); }),
               no_folder.string() + ": cannot write (no such file or directory)"));

  images.pixels.pop_back();
  EXPECT_THROW(cnn::write_csv(path("train.csv"), images, true), std::invalid_argument);
  EXPECT_FALSE(fs::exists(path("train.csv")));
  images = sample_images(2, cnn::Shape{4}, 2);
  EXPECT_THROW(cnn::write_csv(path("train.csv"), images, true), std::invalid_argument);
}

TEST_F(CsvTest, LargeFileRoundTrips) {
  // Kaggle's size of image (784 pixels), enough rows to need the reserve and the writer's
  // buffer flushes (about 1.5 MB of text).
  const cnn::LabelledImages images = sample_images(600, cnn::Shape{1, 28, 28}, 10);
  cnn::write_csv(path("train.csv"), images, true);
  const cnn::LabelledImages back = cnn::load_labelled_csv(path("train.csv"), {});
  EXPECT_EQ(back.image, (cnn::Shape{1, 28, 28}));
  EXPECT_TRUE(back.pixels == images.pixels);
  EXPECT_EQ(back.labels, images.labels);
}

}  // namespace
