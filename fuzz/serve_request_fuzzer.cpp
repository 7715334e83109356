// Fuzz target for what cnn serve reads from a request (serve/request_checks.hpp): the Host header,
// cookies, the Authorization header, run ids and their folders, counts in query parameters, file
// names of the page, and the size an uploaded image declares (serve/image_bytes.hpp). None may
// throw or read out of bounds; the invariants checked here are what the server relies on.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

#include "image_bytes.hpp"
#include "request_checks.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)cnn::serve::host_allowed(text, 8008, "127.0.0.1");
  (void)cnn::serve::host_allowed(text, 8008, "fe80::1");
  (void)cnn::serve::is_loopback_host(text);
  (void)cnn::serve::cookie_value(text, "cnn_token");
  (void)cnn::serve::bearer_token(text);
  (void)cnn::serve::tokens_equal(text, "0123456789abcdef0123456789abcdef");
  if (cnn::serve::valid_run_id(text)) {
    // A valid id never leads anywhere but a folder directly inside the runs folder.
    if (text.find('/') != std::string_view::npos || text == "." || text == "..") __builtin_trap();
    const std::filesystem::path root = "/nonexistent-runs-root";
    const auto folder = cnn::serve::run_folder(root, text);
    if (folder && folder->parent_path() != root) __builtin_trap();
  }
  if (const auto count = cnn::serve::parse_count(text, 1000); count && *count > 1000) {
    __builtin_trap();
  }
  if (const auto name = cnn::serve::web_file_name(text)) {
    if (name->find("..") != std::string::npos || name->starts_with('/')) __builtin_trap();
  }
  (void)cnn::serve::declared_image_size(std::span<const std::uint8_t>(data, size));
  return 0;
}
