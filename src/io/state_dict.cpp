#include "io/state_dict.hpp"

#include <cstring>

namespace cnn {

namespace {

std::vector<std::size_t> dims_of(const Shape& shape) {
  std::vector<std::size_t> dims;
  for (std::size_t i = 0; i < shape.rank(); ++i) dims.push_back(shape[i]);
  return dims;
}

std::string dims_text(const std::vector<std::size_t>& dims) {
  std::string text = "[";
  for (std::size_t i = 0; i < dims.size(); ++i) {
    if (i > 0) text += ", ";
    text += std::to_string(dims[i]);
  }
  return text + "]";
}

// Every tensor of the state_dict with where its value lives.
std::vector<std::pair<std::string, Tensor*>> named_values(Sequential& model) {
  std::vector<std::pair<std::string, Tensor*>> all;
  for (const Parameter& p : model.parameters()) all.emplace_back(p.name, p.value);
  for (const Buffer& b : model.buffers()) all.emplace_back(b.name, b.value);
  return all;
}

}  // namespace

SafetensorsTensor f32_entry(const Tensor& tensor) {
  return {"F32", dims_of(tensor.shape()),
          std::as_bytes(std::span<const float>(tensor.data(), tensor.size()))};
}

void copy_f32_entry(const std::string& name, const SafetensorsTensor& stored, Tensor& into) {
  if (stored.dtype != "F32") {
    throw SafetensorsError("tensor '" + name + "' has dtype \"" + stored.dtype +
                           "\", only F32 is supported");
  }
  // parse_safetensors has checked that the byte range fits the dtype and the shape, so an equal
  // shape means an equal byte count.
  if (stored.shape != dims_of(into.shape())) {
    throw SafetensorsError("tensor '" + name + "' has shape " + dims_text(stored.shape) +
                           ", the architecture needs " + into.shape().to_string());
  }
  std::memcpy(into.data(), stored.bytes.data(), stored.bytes.size());
}

std::vector<std::pair<std::string, SafetensorsTensor>> state_dict_tensors(Sequential& model) {
  std::vector<std::pair<std::string, SafetensorsTensor>> tensors;
  for (const auto& [name, value] : named_values(model)) {
    tensors.emplace_back(name, f32_entry(*value));
  }
  return tensors;
}

std::set<std::string> load_state_dict(Sequential& model,
                                      const std::map<std::string, SafetensorsTensor>& tensors) {
  std::set<std::string> taken;
  for (const auto& [name, value] : named_values(model)) {
    const auto it = tensors.find(name);
    if (it == tensors.end()) throw SafetensorsError("tensor '" + name + "' is missing");
    copy_f32_entry(name, it->second, *value);
    taken.insert(name);
  }
  return taken;
}

}  // namespace cnn
