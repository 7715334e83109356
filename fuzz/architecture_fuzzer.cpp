// Fuzz target for the architecture language (src/arch/), which model files,
// checkpoints and --arch feed with outside text. Its contract is to throw ArchitectureError for
// anything it cannot build; any other exception, a crash or a read out of bounds is a bug the
// fuzzer reports. A network that builds must end with `classes` values per image.
#include <cstddef>
#include <cstdint>
#include <string>

#include "cnn/arch/architecture.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // Long texts only repeat layers; bounding them keeps each run fast.
  if (size > 4096) return 0;
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    cnn::Sequential model = cnn::build_architecture(text, cnn::Shape{1, 28, 28}, 10);
    const cnn::Shape out = model.output_shape(cnn::Shape{1, 1, 28, 28});
    if (out.rank() != 2 || out[1] != 10) __builtin_trap();
  } catch (const cnn::ArchitectureError&) {
  }
  return 0;
}
