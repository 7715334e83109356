// The files of web/ (the page of `cnn serve`), compiled into the program at build time by
// cmake/embed_web.cmake: name relative to web/ ("index.html", "js/app.js"), MIME type, bytes.
#pragma once

#include <span>
#include <string_view>
#include <vector>

namespace cnn::serve {

struct WebAsset {
  std::string_view name;  // path under web/, '/'-separated
  std::string_view mime;  // Content-Type ("text/html; charset=utf-8", "image/png", ...)
  std::span<const unsigned char> bytes;
};

// Every embedded file, sorted by name; empty when web/ was empty or missing at build time.
const std::vector<WebAsset>& web_assets();

// The embedded file of that name, or nullptr.
const WebAsset* find_web_asset(std::string_view name);

}  // namespace cnn::serve
