// The network's tensors in a safetensors file (safetensors.hpp), under the names and layouts of
// PyTorch's state_dict: the parameters ("0.weight" [out, in, kh, kw], "0.bias", ...), then the
// buffers ("2.running_mean", ...), all float32. Model files and checkpoints both store them so;
// what else they store (metadata, optimizer state) is theirs.
#pragma once

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "cnn/io/safetensors.hpp"
#include "cnn/nn/sequential.hpp"

namespace cnn {

// A tensor as a safetensors F32 entry whose bytes point into it.
SafetensorsTensor f32_entry(const Tensor& tensor);

// Copies a stored tensor into `into` when it is F32 with into's shape; otherwise throws
// SafetensorsError naming the tensor ("tensor '4.weight' has shape [363, 84], the architecture
// needs [84, 363]").
void copy_f32_entry(const std::string& name, const SafetensorsTensor& stored, Tensor& into);

// The parameters, then the buffers, as F32 entries whose bytes point into the model.
std::vector<std::pair<std::string, SafetensorsTensor>> state_dict_tensors(Sequential& model);

// Copies every parameter and buffer of `model` from `tensors` with copy_f32_entry; a missing one
// is an error too. Returns the names it took, so that the caller can refuse the tensors it does
// not expect. Throws SafetensorsError (the message names the tensor, not the file).
std::set<std::string> load_state_dict(Sequential& model,
                                      const std::map<std::string, SafetensorsTensor>& tensors);

}  // namespace cnn
