#include "cnn/io/model_file.hpp"

#include <gtest/gtest.h>

#include "assertions.hpp"

#include <sys/stat.h>
#include <unistd.h>
#include "temp_dir.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <zlib.h>

#include "cnn/arch/architecture.hpp"
#include "cnn/arch/presets.hpp"
#include "cnn/core/version.hpp"
#include "gradient_check.hpp"
#include "safetensors_parts.hpp"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

using namespace cnn::testing;  // Contains, the file helpers of safetensors_parts.hpp

// Removes a tensor as if the file had been written without it: its header entry and its bytes go,
// the tensors after it move down.
void remove_tensor(json& header, Bytes& data, const std::string& name) {
  const std::uint64_t begin = header[name]["data_offsets"][0];
  const std::uint64_t end = header[name]["data_offsets"][1];
  header.erase(name);
  data.erase(data.begin() + static_cast<long>(begin), data.begin() + static_cast<long>(end));
  for (auto& [key, entry] : header.items()) {
    if (key == "__metadata__") continue;
    const std::uint64_t b = entry["data_offsets"][0];
    const std::uint64_t e = entry["data_offsets"][1];
    if (b >= end) entry["data_offsets"] = {b - (end - begin), e - (end - begin)};
  }
}

cnn::Sequential seed_model(std::uint64_t seed) {
  cnn::Sequential model = cnn::make_preset("seed", cnn::Shape{1, 28, 28}, 10);
  model.initialize(seed);
  return model;
}

cnn::ModelInfo seed_info() {
  return {"seed", cnn::Shape{1, 28, 28}, 10, {{"batch", "4"}}};
}

// Runs load_model(path), which must throw ModelFileError, and returns the message. Any other
// exception is a failure too: callers rely on ModelFileError alone.
std::string load_error(const fs::path& path) {
  try {
    cnn::load_model(path);
  } catch (const cnn::ModelFileError& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected a cnn::ModelFileError, got another exception: " << e.what();
    return {};
  }
  ADD_FAILURE() << "expected a cnn::ModelFileError, the file loaded";
  return {};
}

// Tensor data compared bit for bit (NaN-safe, unlike ==).
bool same_bits(const cnn::Tensor& a, const cnn::Tensor& b) {
  return a.shape() == b.shape() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

class ModelFileTest : public cnn::testing::TempDirTest {
 protected:
  ModelFileTest() : TempDirTest("cnn-model-file-test") {}

  // Writes a valid model file (seed preset, weights from seed 3) and returns its bytes.
  Bytes write_valid(const fs::path& file) {
    cnn::Sequential model = seed_model(3);
    cnn::save_model(file, model, seed_info());
    return read_bytes(file);
  }

  // Writes a valid file, lets edit change its header and data, writes the result to a new file
  // and returns that file's load error.
  std::string edited_error(const std::function<void(json&, Bytes&)>& edit) {
    const Parts parts = split(write_valid(path("valid.safetensors")));
    json header = parts.header;
    Bytes data = parts.data;
    edit(header, data);
    const fs::path broken = path("broken.safetensors");
    write_bytes(broken, join(header, data));
    const std::string message = load_error(broken);
    EXPECT_TRUE(Contains(message, broken.string()));
    return message;
  }

  // Same, editing the raw bytes of the file.
  std::string raw_error(const std::function<void(Bytes&)>& edit) {
    Bytes bytes = write_valid(path("valid.safetensors"));
    edit(bytes);
    const fs::path broken = path("broken.safetensors");
    write_bytes(broken, bytes);
    const std::string message = load_error(broken);
    EXPECT_TRUE(Contains(message, broken.string()));
    return message;
  }

  // Names in dir_ containing ".tmp-" (left-over temporary files).
  std::vector<std::string> temp_files() const {
    std::vector<std::string> found;
    for (const auto& entry : fs::recursive_directory_iterator(dir_)) {
      const std::string name = entry.path().filename().string();
      if (name.find(".tmp-") != std::string::npos) found.push_back(name);
    }
    return found;
  }
};

// ---- round trip and format -----------------------------------------------------------------

TEST_F(ModelFileTest, RoundTripKeepsEveryBitAndTheInfo) {
  cnn::Sequential model = seed_model(3);
  const fs::path file = path("model.safetensors");
  cnn::save_model(file, model, seed_info());

  cnn::LoadedModel loaded = cnn::load_model(file);
  EXPECT_EQ(loaded.info.preset, "seed");
  EXPECT_EQ(loaded.info.input, (cnn::Shape{1, 28, 28}));
  EXPECT_EQ(loaded.info.classes, 10u);
  // save_model adds the version of cnn that wrote the file.
  EXPECT_EQ(loaded.info.extra, (std::map<std::string, std::string>{
                                   {"batch", "4"}, {cnn::kVersionKey, cnn::version()}}));

  const std::vector<cnn::Parameter> original = model.parameters();
  const std::vector<cnn::Parameter> back = loaded.model.parameters();
  ASSERT_EQ(original.size(), back.size());
  for (std::size_t i = 0; i < original.size(); ++i) {
    SCOPED_TRACE(original[i].name);
    EXPECT_EQ(original[i].name, back[i].name);
    EXPECT_TRUE(same_bits(*original[i].value, *back[i].value));
  }

  const cnn::Tensor x = cnn::testing::random_tensor(cnn::Shape{5, 1, 28, 28}, 11, 0.0f, 1.0f);
  const cnn::Tensor expected = model.forward(x);
  const cnn::Tensor& got = loaded.model.forward(x);
  EXPECT_EQ(got.shape(), (cnn::Shape{5, 10}));
  EXPECT_TRUE(same_bits(expected, got));
}

TEST_F(ModelFileTest, FileFollowsTheSafetensorsLayout) {
  const Bytes file = write_valid(path("model.safetensors"));
  ASSERT_GE(file.size(), 8u);
  const std::uint64_t length = header_length(file);
  EXPECT_EQ(length % 8, 0u) << "the data should start 8-byte aligned";
  ASSERT_LE(length, file.size() - 8);
  const json header = json::parse(file.begin() + 8, file.begin() + 8 + static_cast<long>(length));
  ASSERT_TRUE(header.is_object());

  ASSERT_TRUE(header.contains("__metadata__"));
  const json& meta = header["__metadata__"];
  for (const auto& [key, value] : meta.items()) {
    EXPECT_TRUE(value.is_string()) << "__metadata__ values must be strings: " << key;
  }
  EXPECT_EQ(meta.value("preset", ""), "seed");
  EXPECT_EQ(meta.value("input_shape", ""), "1,28,28");
  EXPECT_EQ(meta.value("classes", ""), "10");
  EXPECT_EQ(meta.value("batch", ""), "4");

  // PyTorch's state_dict names and layouts, in the order of the data.
  const std::vector<std::pair<std::string, std::vector<std::uint64_t>>> expected = {
      {"0.weight", {3, 1, 5, 5}}, {"0.bias", {3}},        {"4.weight", {84, 363}},
      {"4.bias", {84}},           {"6.weight", {10, 84}}, {"6.bias", {10}}};
  EXPECT_EQ(header.size(), expected.size() + 1) << header.dump();
  std::uint64_t offset = 0;
  for (const auto& [name, shape] : expected) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(header.contains(name));
    const json& entry = header[name];
    EXPECT_EQ(entry["dtype"], "F32");
    EXPECT_EQ(entry["shape"].get<std::vector<std::uint64_t>>(), shape);
    std::uint64_t count = 1;
    for (const std::uint64_t d : shape) count *= d;
    const auto offsets = entry["data_offsets"].get<std::vector<std::uint64_t>>();
    EXPECT_EQ(offsets, (std::vector<std::uint64_t>{offset, offset + 4 * count}));
    offset += 4 * count;
  }
  EXPECT_EQ(8 + length + offset, file.size()) << "the data section holds the tensors and no more";
}

TEST_F(ModelFileTest, DataIsTheRawLittleEndianFloats) {
  cnn::Sequential model = seed_model(5);
  const fs::path file = path("model.safetensors");
  cnn::save_model(file, model, seed_info());
  const Parts parts = split(read_bytes(file));
  const cnn::Parameter bias = model.parameters().at(5);  // 6.bias
  ASSERT_EQ(bias.name, "6.bias");
  const auto offsets = parts.header["6.bias"]["data_offsets"].get<std::vector<std::size_t>>();
  for (std::size_t i = 0; i < bias.value->size(); ++i) {
    std::uint32_t bits = 0;
    for (int b = 3; b >= 0; --b) {
      bits = (bits << 8) | static_cast<std::uint8_t>(
                               parts.data.at(offsets[0] + 4 * i + static_cast<std::size_t>(b)));
    }
    float value = 0;
    std::memcpy(&value, &bits, 4);
    EXPECT_EQ(value, (*bias.value)[i]) << "element " << i;
  }
}

TEST_F(ModelFileTest, LoadsAnUnpaddedHeaderFromAnotherWriter) {
  // safetensors does not require padding, and other writers order keys their own way.
  const Parts parts = split(write_valid(path("valid.safetensors")));
  json header = parts.header;
  header["__metadata__"].erase("format");
  Bytes file = join(header, parts.data, false);
  if (header_length(file) % 8 == 0) {  // make sure the test covers an unaligned header
    header["__metadata__"]["note"] = "x";
    file = join(header, parts.data, false);
  }
  ASSERT_NE(header_length(file) % 8, 0u);
  write_bytes(path("other.safetensors"), file);
  const cnn::LoadedModel loaded = cnn::load_model(path("other.safetensors"));
  EXPECT_EQ(loaded.info.preset, "seed");
  EXPECT_EQ(loaded.info.classes, 10u);
}

// ---- broken files --------------------------------------------------------------------------

TEST_F(ModelFileTest, MissingFile) {
  const fs::path file = path("missing.safetensors");
  const std::string message = load_error(file);
  EXPECT_TRUE(Contains(message, file.string()));
  EXPECT_TRUE(Contains(message, "no such file"));
}

TEST_F(ModelFileTest, FolderIsNotAModelFile) {
  const std::string message = load_error(dir_);
  EXPECT_TRUE(Contains(message, dir_.string()));
  EXPECT_TRUE(Contains(message, "folder"));
}

TEST_F(ModelFileTest, EmptyAndTooShortFiles) {
  for (const std::size_t size : {0, 1, 7}) {
    SCOPED_TRACE(size);
    const std::string message = raw_error([&](Bytes& bytes) { bytes.resize(size); });
    EXPECT_TRUE(Contains(message, "too short"));
    EXPECT_TRUE(Contains(message, std::to_string(size) + " bytes"));
  }
}

TEST_F(ModelFileTest, HeaderLengthLargerThanTheFile) {
  std::uint64_t file_size = 0;
  const std::string message = raw_error([&](Bytes& bytes) {
    file_size = bytes.size();
    const std::uint64_t length = bytes.size();  // 8 more than fits
    for (int i = 0; i < 8; ++i)
      bytes[static_cast<std::size_t>(i)] = static_cast<char>(length >> (8 * i));
  });
  EXPECT_TRUE(Contains(message, "header length " + std::to_string(file_size)));
  EXPECT_TRUE(Contains(message, "does not fit"));

  // A huge length (such as from a file in another format) is reported the same way.
  const std::string huge = raw_error([](Bytes& bytes) {
    for (int i = 0; i < 8; ++i) bytes[static_cast<std::size_t>(i)] = static_cast<char>(0xff);
  });
  EXPECT_TRUE(Contains(huge, "header length"));
}

TEST_F(ModelFileTest, MalformedJson) {
  const std::string message = raw_error([](Bytes& bytes) {
    bytes[8] = '[';  // '{' becomes '[', which the object members after it do not fit
  });
  EXPECT_TRUE(Contains(message, "malformed JSON"));
}

TEST_F(ModelFileTest, JsonThatIsNotAnObject) {
  for (const json& header : {json::array({1, 2}), json("text"), json(42)}) {
    SCOPED_TRACE(header.dump());
    const fs::path file = path("array.safetensors");
    write_bytes(file, join(header, Bytes(16, '\0')));
    const std::string message = load_error(file);
    EXPECT_TRUE(Contains(message, file.string()));
    EXPECT_TRUE(Contains(message, "not an object"));
  }
}

TEST_F(ModelFileTest, MissingMetadata) {
  const std::string message = edited_error([](json& h, Bytes&) { h.erase("__metadata__"); });
  EXPECT_TRUE(Contains(message, "no __metadata__"));
}

TEST_F(ModelFileTest, MetadataThatIsNotAnObjectOfStrings) {
  EXPECT_TRUE(Contains(edited_error([](json& h, Bytes&) { h["__metadata__"] = "seed"; }),
                       "__metadata__ is not an object"));
  EXPECT_TRUE(Contains(edited_error([](json& h, Bytes&) { h["__metadata__"]["batch"] = 4; }),
                       "__metadata__ 'batch' is not a string"));
}

TEST_F(ModelFileTest, MissingPresetInputShapeOrClasses) {
  for (const std::string key : {"preset", "input_shape", "classes"}) {
    SCOPED_TRACE(key);
    const std::string message =
        edited_error([&](json& h, Bytes&) { h["__metadata__"].erase(key); });
    EXPECT_TRUE(Contains(message, "__metadata__ has no '" + key + "'"));
  }
}

TEST_F(ModelFileTest, UnknownPresetWithoutArchitecture) {
  // Files written before the architecture was recorded name only the preset.
  const std::string message = edited_error([](json& h, Bytes&) {
    h["__metadata__"]["preset"] = "nope";
    h["__metadata__"].erase("architecture");
  });
  EXPECT_TRUE(Contains(message, "unknown preset 'nope'"));
  EXPECT_TRUE(Contains(message, "seed")) << "the known presets should be listed";
}

TEST_F(ModelFileTest, BadClassesAreRejectedCleanly) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"0", "at least 2 classes"},
      {"1", "at least 2 classes"},
      {"abc", "'abc' is not a count"},
      {"", "'' is not a count"},
      {"-3", "is not a count"},
      {"12345678901234567890", "count"},
      {"9", "shape"},  // a valid count that disagrees with the stored tensors
  };
  for (const auto& [classes, phrase] : cases) {
    SCOPED_TRACE("classes '" + classes + "'");
    const std::string message =
        edited_error([&](json& h, Bytes&) { h["__metadata__"]["classes"] = classes; });
    EXPECT_TRUE(Contains(message, phrase));
  }
}

TEST_F(ModelFileTest, BadInputShapesAreRejectedCleanly) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"1,28", "3 sizes"},
      {"1,28,28,1", "3 sizes"},
      {"", "input_shape"},
      {"a,b,c", "input_shape"},
      {"1,,28", "input_shape"},
      {"1,28,28,", "input_shape"},
      {"0,28,28", "size of 0"},
      {"1,0,28", "size of 0"},
      {"-1,28,28", "input_shape"},
      {"1,4,4", "architecture"},
      {"1,9999999,28", "input_shape"},
      {"1,5000,5000", "input_shape"},  // would build a multi-gigabyte network
      {"3,28,28", "shape"},            // builds, but 0.weight is [3, 1, 5, 5]
  };
  for (const auto& [shape, phrase] : cases) {
    SCOPED_TRACE("input_shape '" + shape + "'");
    const std::string message =
        edited_error([&](json& h, Bytes&) { h["__metadata__"]["input_shape"] = shape; });
    EXPECT_TRUE(Contains(message, phrase));
  }
}

TEST_F(ModelFileTest, DtypeOtherThanF32) {
  // A well-formed F64 tensor (the last one, 6.bias, widened): the container reads it, the model
  // refuses it.
  const std::string wide = edited_error([](json& h, Bytes& data) {
    const std::uint64_t begin = h["6.bias"]["data_offsets"][0];
    ASSERT_EQ(begin + 10 * sizeof(float), data.size()) << "6.bias should be the last tensor";
    std::vector<double> values(10);
    for (std::size_t i = 0; i < values.size(); ++i) {
      float value = 0;
      std::memcpy(&value, data.data() + begin + i * sizeof(float), sizeof(float));
      values[i] = value;
    }
    data.resize(begin);
    const auto* bytes = reinterpret_cast<const char*>(values.data());
    data.insert(data.end(), bytes, bytes + values.size() * sizeof(double));
    h["6.bias"]["dtype"] = "F64";
    h["6.bias"]["data_offsets"] = {begin, begin + values.size() * sizeof(double)};
  });
  EXPECT_TRUE(Contains(wide, "tensor '6.bias' has dtype \"F64\", only F32 is supported"));

  // Dtypes no safetensors reader here knows.
  for (const json& dtype : {json("F16"), json("f32"), json(32)}) {
    SCOPED_TRACE(dtype.dump());
    const std::string message =
        edited_error([&](json& h, Bytes&) { h["4.weight"]["dtype"] = dtype; });
    EXPECT_TRUE(Contains(message, "tensor '4.weight' has dtype " + dtype.dump()));
    EXPECT_TRUE(Contains(message, "not one of F32"));
  }
}

TEST_F(ModelFileTest, ShapeThatDisagreesWithTheArchitecture) {
  // Same element count, other layout: only the shape check can catch it.
  const std::string message = edited_error([](json& h, Bytes&) {
    h["4.weight"]["shape"] = {363, 84};
  });
  EXPECT_TRUE(Contains(message, "tensor '4.weight' has shape [363, 84]"));
  EXPECT_TRUE(Contains(message, "needs [84, 363]"));

  const std::string rank = edited_error([](json& h, Bytes&) { h["0.bias"]["shape"] = {3, 1}; });
  EXPECT_TRUE(Contains(rank, "tensor '0.bias' has shape [3, 1]"));
}

TEST_F(ModelFileTest, MalformedTensorEntries) {
  EXPECT_TRUE(Contains(edited_error([](json& h, Bytes&) { h["0.bias"] = 7; }),
                       "tensor '0.bias' has no dtype"));
  EXPECT_TRUE(Contains(edited_error([](json& h, Bytes&) { h["0.bias"].erase("shape"); }),
                       "tensor '0.bias' has no shape"));
  EXPECT_TRUE(Contains(edited_error([](json& h, Bytes&) { h["0.bias"].erase("data_offsets"); }),
                       "tensor '0.bias' has no data_offsets"));
  EXPECT_TRUE(Contains(edited_error([](json& h, Bytes&) { h["0.bias"]["shape"] = {-3}; }),
                       "not a list of non-negative integers"));
  EXPECT_TRUE(Contains(edited_error([](json& h, Bytes&) { h["0.bias"]["shape"] = {3.0}; }),
                       "not a list of non-negative integers"));
  EXPECT_TRUE(Contains(edited_error([](json& h, Bytes&) { h["0.bias"]["shape"] = "3"; }),
                       "not a list of non-negative integers"));
  EXPECT_TRUE(Contains(edited_error([](json& h, Bytes&) {
                         h["0.bias"]["data_offsets"] = {300.0, 312.0};
                       }),
                       "not a list of non-negative integers"));
  EXPECT_TRUE(Contains(edited_error([](json& h, Bytes&) {
                         h["0.bias"]["data_offsets"] = {300, 306, 312};
                       }),
                       "needs 2 values"));
}

TEST_F(ModelFileTest, DataOffsetsOutOfBounds) {
  const std::string message = edited_error([](json& h, Bytes& data) {
    const std::uint64_t size = data.size();
    h["6.bias"]["data_offsets"] = {size, size + 40};
  });
  EXPECT_TRUE(Contains(message, "tensor '6.bias' byte range"));
  EXPECT_TRUE(Contains(message, "outside"));

  const std::string reversed = edited_error([](json& h, Bytes&) {
    h["0.bias"]["data_offsets"] = {312, 300};
  });
  EXPECT_TRUE(Contains(reversed, "tensor '0.bias' byte range [312, 300)"));
}

TEST_F(ModelFileTest, RangeOfTheWrongSize) {
  const std::string message = edited_error([](json& h, Bytes&) {
    h["0.bias"]["data_offsets"] = {300, 308};  // 2 floats for 3 values
  });
  EXPECT_TRUE(
      Contains(message, "tensor '0.bias' byte range holds 8 bytes, its dtype and shape need 12"));
}

TEST_F(ModelFileTest, OverlappingOffsets) {
  const std::string message = edited_error([](json& h, Bytes&) {
    h["0.bias"]["data_offsets"] = {0, 12};  // inside 0.weight's [0, 300)
  });
  EXPECT_TRUE(Contains(message, "overlap"));
  EXPECT_TRUE(Contains(message, "0.bias"));
  EXPECT_TRUE(Contains(message, "0.weight"));
}

TEST_F(ModelFileTest, GapInTheData) {
  // 8 unused bytes between 0.weight and the rest.
  const std::string message = edited_error([](json& h, Bytes& data) {
    data.insert(data.begin() + 300, 8, '\0');
    for (auto& [key, entry] : h.items()) {
      if (key == "__metadata__" || key == "0.weight") continue;
      auto offsets = entry["data_offsets"].get<std::vector<std::uint64_t>>();
      entry["data_offsets"] = {offsets[0] + 8, offsets[1] + 8};
    }
  });
  EXPECT_TRUE(Contains(message, "gap at byte 300"));
}

TEST_F(ModelFileTest, TrailingBytesAfterTheLastTensor) {
  const std::string message =
      edited_error([](json&, Bytes& data) { data.resize(data.size() + 5); });
  EXPECT_TRUE(Contains(message, "5 bytes after the last tensor"));
}

TEST_F(ModelFileTest, MissingTensor) {
  const std::string message =
      edited_error([](json& h, Bytes& data) { remove_tensor(h, data, "4.bias"); });
  EXPECT_TRUE(Contains(message, "tensor '4.bias' is missing"));
  // Only the header entry gone: the file is inconsistent before it is incomplete.
  const std::string gap = edited_error([](json& h, Bytes&) { h.erase("4.bias"); });
  EXPECT_TRUE(Contains(gap, "the data section has a gap"));
}

TEST_F(ModelFileTest, UnexpectedExtraTensor) {
  const std::string message = edited_error([](json& h, Bytes& data) {
    const std::uint64_t size = data.size();
    h["8.weight"] = {{"dtype", "F32"}, {"shape", {2}}, {"data_offsets", {size, size + 8}}};
    data.resize(data.size() + 8);
  });
  EXPECT_TRUE(Contains(message, "unexpected tensor '8.weight'"));
}

TEST_F(ModelFileTest, TruncatedFile) {
  const std::string message =
      raw_error([](Bytes& bytes) { bytes.erase(bytes.end() - 100, bytes.end()); });
  EXPECT_TRUE(Contains(message, "truncated"));
}

TEST_F(ModelFileTest, EveryTruncationIsRejected) {
  // Whatever the cut, the loader must throw ModelFileError (and never crash or load).
  const Bytes bytes = write_valid(path("valid.safetensors"));
  const fs::path cut = path("cut.safetensors");
  for (std::size_t size = 0; size < bytes.size(); size += (size < 1024 ? 1 : 997)) {
    write_bytes(cut, Bytes(bytes.begin(), bytes.begin() + static_cast<long>(size)));
    const std::string message = load_error(cut);
    ASSERT_TRUE(Contains(message, cut.string())) << "cut to " << size << " bytes";
  }
}

// ---- atomic save ---------------------------------------------------------------------------

TEST_F(ModelFileTest, SavingOverAFileReplacesItCompletely) {
  const fs::path file = path("model.safetensors");
  write_bytes(file, Bytes(1 << 20, 'x'));  // longer than a model file
  cnn::Sequential first = seed_model(3);
  cnn::save_model(file, first, seed_info());
  const Bytes first_bytes = read_bytes(file);
  EXPECT_LT(first_bytes.size(), 1u << 20);

  cnn::Sequential second = seed_model(4);
  cnn::ModelInfo info = seed_info();
  info.extra = {{"note", "second"}};
  const fs::path fresh = path("fresh.safetensors");
  cnn::save_model(fresh, second, info);
  const Bytes fresh_bytes = read_bytes(fresh);
  fs::remove(fresh);

  cnn::save_model(file, second, info);
  EXPECT_EQ(read_bytes(file), fresh_bytes) << "the file should hold the new model and no more";
  cnn::LoadedModel loaded = cnn::load_model(file);
  info.extra[cnn::kVersionKey] = cnn::version();  // added by save_model
  EXPECT_EQ(loaded.info.extra, info.extra);
  EXPECT_TRUE(same_bits(*loaded.model.parameters()[0].value, *second.parameters()[0].value));
  EXPECT_TRUE(temp_files().empty());
  std::size_t entries = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(dir_)) ++entries;
  EXPECT_EQ(entries, 1u) << "only the model file should be in the folder";
}

TEST_F(ModelFileTest, SavingIntoAMissingFolderFails) {
  const fs::path file = path("no-such-folder") / "model.safetensors";
  cnn::Sequential model = seed_model(3);
  try {
    cnn::save_model(file, model, seed_info());
    ADD_FAILURE() << "expected a cnn::ModelFileError";
  } catch (const cnn::ModelFileError& e) {
    EXPECT_TRUE(Contains(e.what(), file.string()));
  }
  EXPECT_FALSE(fs::exists(path("no-such-folder")));
  EXPECT_TRUE(fs::is_empty(dir_)) << "nothing should be left behind";
}

TEST_F(ModelFileTest, SavingOverAFolderFailsAndLeavesNothing) {
  const fs::path file = path("model.safetensors");
  fs::create_directory(file);
  cnn::Sequential model = seed_model(3);
  try {
    cnn::save_model(file, model, seed_info());
    ADD_FAILURE() << "expected a cnn::ModelFileError";
  } catch (const cnn::ModelFileError& e) {
    EXPECT_TRUE(Contains(e.what(), file.string()));
  }
  EXPECT_TRUE(fs::is_directory(file));
  EXPECT_TRUE(temp_files().empty());
}

TEST_F(ModelFileTest, UnwritableFolderKeepsTheOldFile) {
  if (geteuid() == 0) {
    GTEST_SKIP() << "running as root: a folder with mode 555 is still writable, so the failure "
                    "cannot be produced";
  }
  const fs::path file = path("model.safetensors");
  const Bytes old_bytes = write_valid(file);
  ASSERT_EQ(chmod(dir_.c_str(), 0555), 0);
  cnn::Sequential model = seed_model(4);
  try {
    cnn::save_model(file, model, seed_info());
    ADD_FAILURE() << "expected a cnn::ModelFileError";
  } catch (const cnn::ModelFileError& e) {
    EXPECT_TRUE(Contains(e.what(), file.string()));
  }
  ASSERT_EQ(chmod(dir_.c_str(), 0755), 0);
  EXPECT_EQ(read_bytes(file), old_bytes);
  EXPECT_TRUE(temp_files().empty());
}

// ---- architectures and buffers ------------------------------------------------------------

TEST_F(ModelFileTest, AnArchitectureWithBatchNormRoundTripsWithItsRunningStatistics) {
  const std::string text = "conv(4,3) bn relu maxpool(2) fc(8) bn relu dropout(0.2) fc(classes)";
  cnn::Sequential model = cnn::build_architecture(text, cnn::Shape{1, 28, 28}, 10);
  model.initialize(5);
  // Two training passes move the running statistics away from their initial 0 and 1.
  const cnn::Tensor x = cnn::testing::random_tensor(cnn::Shape{6, 1, 28, 28}, 9);
  model.forward(x, true);
  model.forward(x, true);
  cnn::ModelInfo info{"custom", cnn::Shape{1, 28, 28}, 10, {}, text};
  const fs::path file = path("bn.safetensors");
  cnn::save_model(file, model, info);

  const json header = split(read_bytes(file)).header;
  EXPECT_EQ(header["__metadata__"].value("architecture", ""), text);
  // PyTorch's state_dict names: BatchNorm2d at index 1, BatchNorm1d at index 6 (after the
  // flatten the fc inserted at index 4 and the Linear at 5).
  for (const char* name : {"1.weight", "1.bias", "1.running_mean", "1.running_var",
                           "6.running_mean", "6.running_var"}) {
    EXPECT_TRUE(header.contains(name)) << name;
  }

  cnn::LoadedModel loaded = cnn::load_model(file);
  EXPECT_EQ(loaded.info.architecture, text);
  EXPECT_EQ(loaded.info.preset, "custom");
  const auto buffers = model.buffers(), loaded_buffers = loaded.model.buffers();
  ASSERT_EQ(buffers.size(), 4u);
  ASSERT_EQ(loaded_buffers.size(), buffers.size());
  for (std::size_t i = 0; i < buffers.size(); ++i) {
    EXPECT_EQ(loaded_buffers[i].name, buffers[i].name);
    EXPECT_TRUE(same_bits(*loaded_buffers[i].value, *buffers[i].value)) << buffers[i].name;
  }
  EXPECT_NE((*buffers[0].value)[0], 0.0f) << "the running mean should have moved";
  // The same inference output from the loaded model.
  const cnn::Tensor expected = model.forward(x, false);
  EXPECT_TRUE(same_bits(loaded.model.forward(x, false), expected));
}

TEST_F(ModelFileTest, PresetFilesRecordTheirArchitecture) {
  write_valid(path("seed.safetensors"));
  const json header = split(read_bytes(path("seed.safetensors"))).header;
  EXPECT_EQ(header["__metadata__"].value("architecture", ""), cnn::preset_architecture("seed"));
}

TEST_F(ModelFileTest, BrokenArchitectureTextIsNamed) {
  const std::string message = edited_error(
      [](json& h, Bytes&) { h["__metadata__"]["architecture"] = "conv(3,5) relu nonsense"; });
  EXPECT_TRUE(Contains(message, "cannot build the architecture"));
  EXPECT_TRUE(Contains(message, "unknown layer 'nonsense'"));
}

TEST_F(ModelFileTest, AMissingBufferIsNamed) {
  const std::string text = "conv(2,5) bn relu fc(classes)";
  cnn::Sequential model = cnn::build_architecture(text, cnn::Shape{1, 28, 28}, 10);
  model.initialize(1);
  const fs::path file = path("bn.safetensors");
  cnn::save_model(file, model, {"custom", cnn::Shape{1, 28, 28}, 10, {}, text});
  Parts parts = split(read_bytes(file));
  remove_tensor(parts.header, parts.data, "1.running_var");
  write_bytes(path("broken.safetensors"), join(parts.header, parts.data));
  EXPECT_TRUE(
      Contains(load_error(path("broken.safetensors")), "tensor '1.running_var' is missing"));
}

}  // namespace

namespace {

TEST_F(ModelFileTest, AFileOfAnotherFormatIsNotASafetensorsFile) {
  // A PNG (wrong "magic": safetensors has none, so its first 8 bytes read as a header length).
  const fs::path image = fs::path(CNN_SOURCE_DIR) / "tests/fixtures/digits/1-blue-ink-120x200.png";
  const std::string message = load_error(image);
  EXPECT_TRUE(Contains(message, image.string()));
  EXPECT_TRUE(Contains(message, "not a safetensors file"));
}

TEST_F(ModelFileTest, InputNormalisationIsRecordedAndChecked) {
  const Parts parts = split(write_valid(path("valid.safetensors")));
  const json& metadata = parts.header["__metadata__"];
  EXPECT_EQ(metadata["input_scale"], "0.00392156862745098");
  EXPECT_EQ(metadata["input_mean"], "0");
  EXPECT_TRUE(
      Contains(edited_error([](json& h, Bytes&) { h["__metadata__"]["input_scale"] = "1"; }),
               "input_scale '1' is not 0.00392156862745098"));
  EXPECT_TRUE(
      Contains(edited_error([](json& h, Bytes&) { h["__metadata__"]["input_mean"] = "0.1307"; }),
               "input_mean '0.1307' is not 0"));
  // Files from before the normalisation was recorded load as before.
  const fs::path old = path("old.safetensors");
  json header = parts.header;
  header["__metadata__"].erase("input_scale");
  header["__metadata__"].erase("input_mean");
  write_bytes(old, join(header, parts.data));
  EXPECT_NO_THROW(cnn::load_model(old));
}

TEST_F(ModelFileTest, ClassNamesNormalisationAndPreparationRoundTrip) {
  cnn::Sequential model = cnn::make_preset("lenet5", cnn::Shape{3, 32, 32}, 3);
  model.initialize(5);
  cnn::ModelInfo info{"lenet5", cnn::Shape{3, 32, 32}, 3, {}};
  info.class_names = {"cat", "dog, big", "\"quoted\" ünïcode"};
  info.normalization = cnn::Normalization::standard({0.49f, 0.48f, 0.45f}, {0.25f, 0.24f, 0.26f});
  info.preparation = cnn::Preparation::resize;
  const fs::path file = path("colour.safetensors");
  cnn::save_model(file, model, info);
  const cnn::LoadedModel loaded = cnn::load_model(file);
  EXPECT_EQ(loaded.info.class_names, info.class_names);
  EXPECT_EQ(loaded.info.normalization, info.normalization);  // every float back bit for bit
  EXPECT_EQ(loaded.info.preparation, cnn::Preparation::resize);
  const json metadata = split(read_bytes(file)).header["__metadata__"];
  EXPECT_EQ(metadata["format_version"], "2");
  EXPECT_EQ(metadata["input_normalization"], "standard");
  EXPECT_EQ(metadata["input_scale"], "0.00392156862745098");
  EXPECT_EQ(json::parse(metadata["class_names"].get<std::string>()), json(info.class_names));
  // The normalisation keys are not training settings.
  EXPECT_FALSE(loaded.info.extra.contains("input_mean"));
  EXPECT_FALSE(loaded.info.extra.contains("class_names"));
}

TEST_F(ModelFileTest, FilesBeforeVersion2LoadAsUnitWithNumberedClassesAndDigits) {
  const Parts parts = split(write_valid(path("valid.safetensors")));
  json header = parts.header;
  for (const char* key : {"class_names", "input_normalization", "input_std", "preparation"}) {
    header["__metadata__"].erase(key);
  }
  header["__metadata__"]["format_version"] = "1";
  const fs::path old = path("v1.safetensors");
  write_bytes(old, join(header, parts.data));
  const cnn::LoadedModel loaded = cnn::load_model(old);
  EXPECT_TRUE(loaded.info.class_names.empty());
  EXPECT_EQ(loaded.info.names(), cnn::numbered_class_names(10));
  EXPECT_EQ(loaded.info.normalization, cnn::Normalization::unit());
  EXPECT_EQ(loaded.info.preparation, cnn::Preparation::digit);  // 1x28x28: MNIST's digits
  EXPECT_EQ(cnn::preparation_for_older_files(cnn::Shape{3, 32, 32}), cnn::Preparation::resize);
}

TEST_F(ModelFileTest, BadClassNamesNormalisationOrPreparationIsRefused) {
  EXPECT_TRUE(Contains(
      edited_error([](json& h, Bytes&) { h["__metadata__"]["class_names"] = R"(["a","b"])"; }),
      "bad __metadata__ class_names: expected a JSON array of 10 non-empty names"));
  EXPECT_TRUE(
      Contains(edited_error([](json& h, Bytes&) { h["__metadata__"]["class_names"] = "not json"; }),
               "bad __metadata__ class_names"));
  EXPECT_TRUE(Contains(
      edited_error([](json& h, Bytes&) { h["__metadata__"]["input_normalization"] = "zscore"; }),
      "input_normalization 'zscore' is not none, unit or standard"));
  const auto standard = [](const std::string& mean, const std::string& std) {
    return [=](json& h, Bytes&) {
      h["__metadata__"]["input_normalization"] = "standard";
      h["__metadata__"]["input_mean"] = mean;
      h["__metadata__"]["input_std"] = std;
    };
  };
  EXPECT_TRUE(Contains(edited_error(standard("0.1,0.2", "0.3,0.3")),
                       "input_mean and input_std need 1 or 1 values"));
  EXPECT_TRUE(Contains(edited_error(standard("0.1", "0")), "a std > 0 needed"));
  EXPECT_TRUE(Contains(edited_error(standard("x", "1")), "bad __metadata__ input_mean: 'x'"));
  EXPECT_TRUE(Contains(edited_error(standard("0.1", "nan")), "bad __metadata__ input_std"));
  EXPECT_TRUE(Contains(
      edited_error([](json& h, Bytes&) { h["__metadata__"]["input_normalization"] = "none"; }),
      "input_scale '0.00392156862745098' is not 1"));
  EXPECT_TRUE(
      Contains(edited_error([](json& h, Bytes&) { h["__metadata__"]["preparation"] = "crop"; }),
               "preparation 'crop' is not digit or resize"));
  // One mean and std for every channel is read as that value for each.
  const Parts parts = split(write_valid(path("valid.safetensors")));
  json header = parts.header;
  Bytes unused;
  standard("0.1307", "0.3081")(header, unused);
  const fs::path file = path("standard.safetensors");
  write_bytes(file, join(header, parts.data));
  EXPECT_EQ(cnn::load_model(file).info.normalization,
            cnn::Normalization::standard({0.1307f}, {0.3081f}));
}

}  // namespace

// ---- training data checksum ----------------------------------------------------------------

TEST(DataChecksum, IsTheCrc32OfThePixelsThenTheLabels) {
  // Two images of 2x2 and their labels, as the IDX payloads would hold them.
  const std::vector<std::uint8_t> pixels = {1, 2, 3, 4, 250, 251, 252, 253};
  const std::vector<std::uint8_t> labels = {7, 1};
  const cnn::Dataset data(pixels, labels, 2, 2, 10);
  std::vector<std::uint8_t> payloads = pixels;
  payloads.insert(payloads.end(), labels.begin(), labels.end());
  const uLong crc = crc32(0L, payloads.data(), static_cast<uInt>(payloads.size()));
  char expected[16];
  std::snprintf(expected, sizeof expected, "crc32:%08lx", static_cast<unsigned long>(crc));
  EXPECT_EQ(cnn::data_checksum(std::vector{data}), expected);

  // Split into parts (training and validation images), empty parts included: the same value.
  EXPECT_EQ(cnn::data_checksum(std::vector{data.slice(0, 1), data.slice(1, 1), data.slice(2, 0)}),
            expected);
  // Any changed pixel or label changes it.
  std::vector<std::uint8_t> other_labels = labels;
  other_labels[1] = 2;
  EXPECT_NE(cnn::data_checksum(std::vector{cnn::Dataset(pixels, other_labels, 2, 2, 10)}),
            expected);
  std::vector<std::uint8_t> other_pixels = pixels;
  other_pixels[5] ^= 1;
  EXPECT_NE(cnn::data_checksum(std::vector{cnn::Dataset(other_pixels, labels, 2, 2, 10)}),
            expected);
}

TEST_F(ModelFileTest, RecordsTheVersionThatWroteItAndKeepsTheDataChecksum) {
  cnn::Sequential model = seed_model(3);
  cnn::ModelInfo info = seed_info();
  info.extra[cnn::kDataChecksumKey] = "crc32:0123abcd";
  info.extra[cnn::kVersionKey] = "0.0.1";  // a loaded model saved again: the writer's version
  cnn::save_model(path("model.safetensors"), model, info);
  const cnn::LoadedModel loaded = cnn::load_model(path("model.safetensors"));
  EXPECT_EQ(loaded.info.extra.at(cnn::kVersionKey), cnn::version());
  EXPECT_EQ(loaded.info.extra.at(cnn::kDataChecksumKey), "crc32:0123abcd");
}
