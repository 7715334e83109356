#include "cnn/core/process_group.hpp"

#include <stdexcept>

namespace cnn {

// One process has nobody to stop but itself: the error travels up as any other would.
void SingleProcess::abort(const std::string& message, int /*exit_status*/) {
  throw std::runtime_error(message);
}

}  // namespace cnn
