// Assertions about messages, shared by the tests.
#pragma once

#include <gtest/gtest.h>

#include <string>

namespace cnn::testing {

// Passes when `text` contains `part`; a failure shows both.
inline ::testing::AssertionResult Contains(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "message \"" << text << "\" does not contain \"" << part << "\"";
}

// Runs f, which must throw E, and returns the message; a test failure (and "") when f returns.
template <class E, class F>
std::string error_message(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected an exception, nothing was thrown";
  return {};
}

}  // namespace cnn::testing
