// The checks `cnn serve` makes on every request, as plain functions of text (no HTTP library),
// so that they are tested and fuzzed on their own (tests/serve/request_checks_test.cpp,
// fuzz/serve_request_fuzzer.cpp). docs/serve.md, "Security", says why each exists.
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace cnn::serve {

// 32 lowercase hex digits (128 bits) from std::random_device (the kernel's random source).
std::string random_token();

// Whether `given` equals `expected`, in time that depends only on their lengths (a wrong token
// guessed byte by byte learns nothing from the time the answer takes).
bool tokens_equal(std::string_view given, std::string_view expected);

// The value of cookie `name` in a Cookie header ("a=1; cnn_token=abc"), or "" when absent.
std::string cookie_value(std::string_view cookie_header, std::string_view name);

// The token of an "Authorization: Bearer T" header value, or "" when it is not one.
std::string bearer_token(std::string_view authorization);

// Whether the host is a loopback address or name: 127.x.x.x, ::1, localhost.
bool is_loopback_host(std::string_view host);

// Whether a request's Host header names this server: "127.0.0.1:PORT", "localhost:PORT",
// "[::1]:PORT", or bind_host:PORT when the server was bound to a specific address other than
// 0.0.0.0 / :: (a name any page could make resolve to us — DNS rebinding — is refused).
bool host_allowed(std::string_view host_header, int port, std::string_view bind_host);

// A run id: a folder name directly under the runs folder. Refused: empty, "." and "..", names
// starting with '.', anything with '/', '\\', NUL or another control character, longer than 255
// bytes.
bool valid_run_id(std::string_view id);

// The folder of run `id` under `runs_root` (an absolute, canonical path): nullopt when the id is
// not valid_run_id, or when the folder (a symbolic link followed) is not directly inside
// runs_root. Existence is not checked.
std::optional<std::filesystem::path> run_folder(const std::filesystem::path& runs_root,
                                                std::string_view id);

// A query parameter that counts (since=N, limit=N, an image index): decimal digits only, at most
// `largest`; nullopt otherwise.
std::optional<std::size_t> parse_count(std::string_view text, std::size_t largest);

// A web/ file name from a request path ("/app.js" -> "app.js", "/" -> "index.html"): nullopt
// for names with "..", "//", '\\' or characters outside [A-Za-z0-9._/-].
std::optional<std::string> web_file_name(std::string_view request_path);

}  // namespace cnn::serve
