#include "io/state_dict.hpp"

#include <gtest/gtest.h>

#include "assertions.hpp"

#include <cstring>
#include <string>
#include <vector>

#include "cnn/arch/architecture.hpp"

namespace cnn {
namespace {

// A network with parameters of ranks 1, 2 and 4 and the buffers of batch normalisation.
Sequential small_network(std::uint64_t seed) {
  Sequential model =
      build_architecture("conv(4,3,pad=1) bn relu maxpool(2) flatten fc(5)", Shape{2, 6, 5}, 5);
  model.initialize(seed);
  return model;
}

// The stored tensors as a map, as parse_safetensors gives them.
std::map<std::string, SafetensorsTensor> as_map(
    const std::vector<std::pair<std::string, SafetensorsTensor>>& tensors) {
  return {tensors.begin(), tensors.end()};
}

std::string error_of(Sequential& model, const std::map<std::string, SafetensorsTensor>& tensors) {
  return testing::error_message<SafetensorsError>([&] { load_state_dict(model, tensors); });
}

TEST(StateDict, NamesShapesAndOrderArePyTorchs) {
  Sequential model = small_network(1);
  const auto tensors = state_dict_tensors(model);
  std::vector<std::string> names;
  for (const auto& [name, tensor] : tensors) {
    names.push_back(name);
    EXPECT_EQ(tensor.dtype, "F32") << name;
  }
  // Parameters in layer order, then the buffers.
  EXPECT_EQ(names, (std::vector<std::string>{"0.weight", "0.bias", "1.weight", "1.bias", "5.weight",
                                             "5.bias", "1.running_mean", "1.running_var"}));
  EXPECT_EQ(tensors[0].second.shape, (std::vector<std::size_t>{4, 2, 3, 3}));
  EXPECT_EQ(tensors[4].second.shape, (std::vector<std::size_t>{5, 4 * 3 * 2}));
  EXPECT_EQ(tensors[0].second.bytes.size(), 4u * 2 * 3 * 3 * sizeof(float));
}

TEST(StateDict, LoadCopiesEveryParameterAndBufferBitForBit) {
  Sequential source = small_network(1);
  // Buffers away from their initial values, so that copying them is visible.
  for (const Buffer& b : source.buffers()) b.value->fill(0.25f);
  const auto tensors = state_dict_tensors(source);
  Sequential target = small_network(2);
  const std::set<std::string> taken = load_state_dict(target, as_map(tensors));
  EXPECT_EQ(taken.size(), tensors.size());
  const auto copied = state_dict_tensors(target);
  ASSERT_EQ(copied.size(), tensors.size());
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const auto& expected = tensors[i].second.bytes;
    const auto& actual = copied[i].second.bytes;
    ASSERT_EQ(actual.size(), expected.size());
    EXPECT_EQ(std::memcmp(actual.data(), expected.data(), expected.size()), 0) << tensors[i].first;
  }
}

TEST(StateDict, MissingWrongDtypeAndWrongShapeAreNamed) {
  Sequential source = small_network(1);
  const auto tensors = state_dict_tensors(source);
  Sequential target = small_network(2);

  auto missing = as_map(tensors);
  missing.erase("1.running_var");
  EXPECT_EQ(error_of(target, missing), "tensor '1.running_var' is missing");

  auto wrong_dtype = as_map(tensors);
  wrong_dtype["0.bias"].dtype = "I32";  // same byte count, other meaning
  EXPECT_EQ(error_of(target, wrong_dtype),
            "tensor '0.bias' has dtype \"I32\", only F32 is supported");

  auto wrong_shape = as_map(tensors);
  wrong_shape["5.weight"].shape = {24, 5};  // the same element count, transposed
  EXPECT_EQ(error_of(target, wrong_shape),
            "tensor '5.weight' has shape [24, 5], the architecture needs [5, 24]");
}

TEST(StateDict, ExtraTensorsAreLeftToTheCaller) {
  Sequential source = small_network(1);
  auto tensors = as_map(state_dict_tensors(source));
  const float extra[2] = {1.0f, 2.0f};
  tensors["optimizer.0.bias.momentum_buffer"] = {"F32", {2}, std::as_bytes(std::span(extra))};
  Sequential target = small_network(2);
  const std::set<std::string> taken = load_state_dict(target, tensors);
  EXPECT_FALSE(taken.contains("optimizer.0.bias.momentum_buffer"));
  EXPECT_EQ(taken.size(), tensors.size() - 1);
}

}  // namespace
}  // namespace cnn
