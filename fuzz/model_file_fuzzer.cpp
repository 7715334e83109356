// Fuzz target for the model-file loader (safetensors). Its contract is to throw ModelFileError
// for anything it cannot use; any other exception, a crash or a read out of bounds is a bug the
// fuzzer reports. A file that loads must give a network that runs on its declared input.
#include <cstddef>
#include <cstdint>

#include "cnn/io/model_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    cnn::LoadedModel loaded =
        cnn::parse_model({reinterpret_cast<const char*>(data), size}, "fuzz-input");
    const cnn::Shape& in = loaded.info.input;
    const cnn::Shape out = loaded.model.output_shape(cnn::Shape{1, in[0], in[1], in[2]});
    if (out.rank() != 2 || out[1] != loaded.info.classes) __builtin_trap();
  } catch (const cnn::ModelFileError&) {
  }
  return 0;
}
