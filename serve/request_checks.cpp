#include "request_checks.hpp"

#include <random>

namespace cnn::serve {

namespace fs = std::filesystem;

std::string random_token() {
  std::random_device random;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string token;
  for (int word = 0; word < 4; ++word) {
    const std::uint32_t bits = random();
    for (int nibble = 0; nibble < 8; ++nibble) token += kHex[(bits >> (4 * nibble)) & 0xf];
  }
  return token;
}

bool tokens_equal(std::string_view given, std::string_view expected) {
  if (given.size() != expected.size()) return false;
  unsigned char difference = 0;
  for (std::size_t i = 0; i < given.size(); ++i) {
    difference |= static_cast<unsigned char>(given[i] ^ expected[i]);
  }
  return difference == 0;
}

namespace {

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

}  // namespace

std::string cookie_value(std::string_view cookie_header, std::string_view name) {
  while (!cookie_header.empty()) {
    const std::size_t end = cookie_header.find(';');
    const std::string_view pair = trim(cookie_header.substr(0, end));
    const std::size_t equals = pair.find('=');
    if (equals != std::string_view::npos && trim(pair.substr(0, equals)) == name) {
      return std::string(trim(pair.substr(equals + 1)));
    }
    if (end == std::string_view::npos) break;
    cookie_header.remove_prefix(end + 1);
  }
  return "";
}

std::string bearer_token(std::string_view authorization) {
  authorization = trim(authorization);
  constexpr std::string_view kScheme = "Bearer ";
  if (authorization.size() <= kScheme.size()) return "";
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    const char a = authorization[i], b = kScheme[i];
    if ((a | 0x20) != (b | 0x20)) return "";  // the scheme is case-insensitive
  }
  return std::string(trim(authorization.substr(kScheme.size())));
}

bool is_loopback_host(std::string_view host) {
  if (host == "localhost" || host == "::1" || host == "[::1]") return true;
  // 127.0.0.0/8, written as four decimal numbers.
  if (!host.starts_with("127.")) return false;
  int parts = 0;
  std::size_t digits = 0;
  for (const char ch : host) {
    if (ch == '.') {
      if (digits == 0 || digits > 3) return false;
      ++parts;
      digits = 0;
    } else if (ch >= '0' && ch <= '9') {
      ++digits;
    } else {
      return false;
    }
  }
  return parts == 3 && digits > 0 && digits <= 3;
}

bool host_allowed(std::string_view host_header, int port, std::string_view bind_host) {
  std::string suffix(1, ':');  // (":" + to_string trips GCC 12's -Wrestrict, falsely)
  suffix += std::to_string(port);
  if (!host_header.ends_with(suffix)) return false;
  const std::string_view name = host_header.substr(0, host_header.size() - suffix.size());
  if (name == "127.0.0.1" || name == "localhost" || name == "[::1]") return true;
  if (bind_host.empty() || bind_host == "0.0.0.0" || bind_host == "::") return false;
  if (bind_host.find(':') != std::string_view::npos) {  // an IPv6 address is written in brackets
    return name.size() == bind_host.size() + 2 && name.front() == '[' && name.back() == ']' &&
           name.substr(1, bind_host.size()) == bind_host;
  }
  return name == bind_host;
}

bool valid_run_id(std::string_view id) {
  if (id.empty() || id.size() > 255 || id.front() == '.') return false;
  for (const char ch : id) {
    const auto byte = static_cast<unsigned char>(ch);
    if (ch == '/' || ch == '\\' || byte < 0x20 || byte == 0x7f) return false;
  }
  return true;
}

std::optional<fs::path> run_folder(const fs::path& runs_root, std::string_view id) {
  if (!valid_run_id(id)) return std::nullopt;
  std::error_code ec;
  const fs::path resolved = fs::weakly_canonical(runs_root / fs::path(std::string(id)), ec);
  if (ec || resolved.parent_path() != runs_root) return std::nullopt;
  return resolved;
}

std::optional<std::size_t> parse_count(std::string_view text, std::size_t largest) {
  if (text.empty() || text.size() > 19) return std::nullopt;
  std::size_t value = 0;
  for (const char ch : text) {
    if (ch < '0' || ch > '9') return std::nullopt;
    value = value * 10 + static_cast<std::size_t>(ch - '0');
  }
  if (value > largest) return std::nullopt;
  return value;
}

std::optional<std::string> web_file_name(std::string_view request_path) {
  if (!request_path.starts_with('/')) return std::nullopt;
  request_path.remove_prefix(1);
  if (request_path.empty()) return std::string("index.html");
  if (request_path.size() > 200 || request_path.find("..") != std::string_view::npos ||
      request_path.find("//") != std::string_view::npos || request_path.front() == '.' ||
      request_path.front() == '/') {
    return std::nullopt;
  }
  for (const char ch : request_path) {
    const bool allowed = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                         (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-' ||
                         ch == '/';
    if (!allowed) return std::nullopt;
  }
  return std::string(request_path);
}

}  // namespace cnn::serve
