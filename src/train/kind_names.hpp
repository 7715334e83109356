// Enumerations named by words on the command line and in files ("sgd", "cosine"): each enum's
// values are the indices of its names, so one list gives both directions.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

namespace cnn {

// The Kind whose name is `name`; otherwise std::invalid_argument "unknown <what> '<name>' (known:
// <names, comma-separated>)".
template <class Kind>
Kind kind_named(const std::vector<std::string>& names, const std::string& name,
                const std::string& what) {
  std::string known;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (names[i] == name) return static_cast<Kind>(i);
    known += (i == 0 ? "" : ", ") + names[i];
  }
  throw std::invalid_argument("unknown " + what + " '" + name + "' (known: " + known + ")");
}

}  // namespace cnn
