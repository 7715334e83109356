#include "fault_injection.hpp"

#include <csignal>
#include <cstdlib>
#include <limits>
#include <stdexcept>
#include <string>

#include "cnn/core/numbers.hpp"
#include "commands.hpp"

namespace cnn::cli {

std::function<void(std::size_t, ParameterBlock&)> fault_injection_from_environment(
    std::size_t rank) {
  const char* variable = std::getenv("CNN_FAULT_INJECTION");
  if (variable == nullptr || *variable == '\0') return {};
  const std::string text = variable;
  const auto bad = [&text] {
    return UsageError(
        "CNN_FAULT_INJECTION: expected KIND@RANK:ITERATION with KIND one of error, "
        "nan, drift, kill (for example nan@1:5), got '" +
        text + "'");
  };
  const std::size_t at = text.find('@'), colon = text.find(':', at == std::string::npos ? 0 : at);
  if (at == std::string::npos || colon == std::string::npos) throw bad();
  const std::string kind = text.substr(0, at);
  const auto target = parse_integer<std::size_t>(text.substr(at + 1, colon - at - 1));
  const auto iteration = parse_integer<std::size_t>(text.substr(colon + 1));
  if (!target || !iteration ||
      (kind != "error" && kind != "nan" && kind != "drift" && kind != "kill")) {
    throw bad();
  }
  if (*target != rank) return {};
  return [kind, when = *iteration](std::size_t it, ParameterBlock& block) {
    if (it != when) return;
    if (kind == "error") {
      throw std::runtime_error("failure injected by CNN_FAULT_INJECTION at iteration " +
                               std::to_string(it));
    }
    if (kind == "nan") block.gradients()[0] = std::numeric_limits<float>::quiet_NaN();
    if (kind == "drift") block.values()[0] += 0.001f;
    if (kind == "kill") std::raise(SIGKILL);
  };
}

}  // namespace cnn::cli
