// The library's check that this CPU runs the kernels' instruction set (instruction_set.hpp).
// Compiled for the baseline like everything outside src/kernels/: it runs before any kernel may.
#include <string>
#include <string_view>

#include "cnn/core/instruction_set.hpp"

namespace cnn {

std::string unsupported_cpu_message(std::string_view missing_feature) {
  return std::string("this build's kernels use ") + compiled_instruction_set().name +
         ", but this CPU lacks '" + std::string(missing_feature) +
         "'; rebuild with -DCNN_ARCH=native (or avx2, or portable)";
}

void require_cpu_support() {
  // Asked once: a static local's initialisation is thread-safe, and the answer cannot change.
  static const char* const missing = missing_cpu_feature();
  if (missing != nullptr) throw UnsupportedCpu(unsupported_cpu_message(missing));
}

}  // namespace cnn
