#include "cnn/model_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <vector>

#include "cnn/presets.hpp"

namespace cnn {

static_assert(std::endian::native == std::endian::little,
              "safetensors data is little-endian; a big-endian port must byte-swap here");

namespace {

using nlohmann::json;

// Far more than any header this project writes; bounds what a corrupt length can make us read.
constexpr std::uint64_t kMaxHeaderBytes = 100u << 20;

std::string shape_text(const Shape& s) {
  std::string text;
  for (std::size_t i = 0; i < s.rank(); ++i) text += (i ? "," : "") + std::to_string(s[i]);
  return text;
}

Shape parse_shape(const std::string& text) {
  std::vector<std::size_t> dims;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    const std::size_t comma = std::min(text.find(',', pos), text.size());
    const std::string part = text.substr(pos, comma - pos);
    if (part.empty() || part.find_first_not_of("0123456789") != std::string::npos ||
        part.size() > 6) {
      throw std::invalid_argument("'" + text + "' is not a list of sizes such as 1,28,28");
    }
    dims.push_back(std::stoul(part));
    pos = comma + 1;
  }
  if (dims.size() != 3) throw std::invalid_argument("'" + text + "' does not have 3 sizes");
  return Shape{dims[0], dims[1], dims[2]};
}

void write_all(int fd, const void* data, std::size_t size, const std::string& what) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd, p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw ModelFileError(what + ": cannot write: " + std::strerror(errno));
    }
    p += n;
    size -= static_cast<std::size_t>(n);
  }
}

}  // namespace

void save_model(const std::filesystem::path& path, Sequential& model, const ModelInfo& info) {
  json header;
  json metadata = json::object();
  for (const auto& [key, value] : info.extra) metadata[key] = value;
  metadata["format"] = "cnn";
  metadata["preset"] = info.preset;
  metadata["input_shape"] = shape_text(info.input);
  metadata["classes"] = std::to_string(info.classes);
  header["__metadata__"] = metadata;
  std::uint64_t offset = 0;
  const std::vector<Parameter> params = model.parameters();
  for (const Parameter& p : params) {
    std::vector<std::size_t> shape;
    for (std::size_t i = 0; i < p.value->shape().rank(); ++i) shape.push_back(p.value->dim(i));
    const std::uint64_t bytes = p.value->size() * sizeof(float);
    header[p.name] = {
        {"dtype", "F32"}, {"shape", shape}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // keeps the data 8-byte aligned
  const std::uint64_t length = text.size();

  const std::string target = path.string();
  std::filesystem::path temp = path;
  temp += ".tmp-" + std::to_string(::getpid());
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    throw ModelFileError(target + ": cannot create " + temp.string() + ": " + std::strerror(errno));
  }
  try {
    write_all(fd, &length, sizeof length, target);
    write_all(fd, text.data(), text.size(), target);
    for (const Parameter& p : params) {
      write_all(fd, p.value->data(), p.value->size() * sizeof(float), target);
    }
    if (::fsync(fd) != 0) throw ModelFileError(target + ": cannot flush: " + std::strerror(errno));
  } catch (...) {
    ::close(fd);
    std::filesystem::remove(temp);
    throw;
  }
  if (::close(fd) != 0 || std::rename(temp.c_str(), path.c_str()) != 0) {
    const std::string reason = std::strerror(errno);
    std::error_code ignored;
    std::filesystem::remove(temp, ignored);
    throw ModelFileError(target + ": cannot write: " + reason);
  }
}

LoadedModel load_model(const std::filesystem::path& path) {
  const std::string name = path.string();
  const auto fail = [&](const std::string& problem) {
    return ModelFileError(name + ": " + problem);
  };

  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) throw fail("no such file");
    throw fail(std::string("cannot open: ") + std::strerror(errno));
  }
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)),
                                std::istreambuf_iterator<char>());
  if (bytes.size() < 8) {
    throw fail("too short for a safetensors file (" + std::to_string(bytes.size()) +
               " bytes, the header length alone takes 8)");
  }
  std::uint64_t header_length = 0;
  std::memcpy(&header_length, bytes.data(), 8);
  if (header_length > kMaxHeaderBytes || header_length > bytes.size() - 8) {
    throw fail("header length " + std::to_string(header_length) + " does not fit in the " +
               std::to_string(bytes.size()) + "-byte file (not a safetensors file, or truncated)");
  }
  json header;
  try {
    header = json::parse(bytes.begin() + 8, bytes.begin() + 8 + static_cast<long>(header_length));
  } catch (const json::exception& e) {
    throw fail(std::string("malformed JSON header: ") + e.what());
  }
  if (!header.is_object()) throw fail("the JSON header is not an object");
  const std::uint64_t data_size = bytes.size() - 8 - header_length;
  const char* data = bytes.data() + 8 + header_length;

  LoadedModel loaded;
  try {
    const json& meta = header.at("__metadata__");
    for (const auto& [key, value] : meta.items()) {
      loaded.info.extra[key] = value.get<std::string>();
    }
    loaded.info.preset = loaded.info.extra.at("preset");
    loaded.info.input = parse_shape(loaded.info.extra.at("input_shape"));
    const std::string& classes = loaded.info.extra.at("classes");
    if (classes.empty() || classes.size() > 6 ||
        classes.find_first_not_of("0123456789") != std::string::npos) {
      throw std::invalid_argument("classes '" + classes + "' is not a count");
    }
    loaded.info.classes = std::stoul(classes);
    for (const char* key : {"format", "preset", "input_shape", "classes"}) {
      loaded.info.extra.erase(key);
    }
  } catch (const json::exception& e) {
    throw fail(std::string("bad __metadata__ (needs preset, input_shape, classes): ") + e.what());
  } catch (const std::exception& e) {
    throw fail(std::string("bad __metadata__: ") + e.what());
  }
  try {
    loaded.model = make_preset(loaded.info.preset, loaded.info.input, loaded.info.classes);
  } catch (const std::exception& e) {
    throw fail(std::string("cannot build the architecture: ") + e.what());
  }

  std::vector<std::pair<std::uint64_t, std::uint64_t>> ranges;
  std::size_t expected_tensors = 0;
  for (const Parameter& p : loaded.model.parameters()) {
    ++expected_tensors;
    if (!header.contains(p.name)) throw fail("tensor '" + p.name + "' is missing");
    const json& entry = header[p.name];
    std::vector<std::size_t> shape;
    std::uint64_t begin = 0, end = 0;
    try {
      if (entry.at("dtype").get<std::string>() != "F32") {
        throw fail("tensor '" + p.name + "' has dtype " + entry.at("dtype").dump() +
                   ", only F32 is supported");
      }
      shape = entry.at("shape").get<std::vector<std::size_t>>();
      const auto offsets = entry.at("data_offsets").get<std::vector<std::uint64_t>>();
      if (offsets.size() != 2) throw fail("tensor '" + p.name + "': data_offsets needs 2 values");
      begin = offsets[0];
      end = offsets[1];
    } catch (const json::exception& e) {
      throw fail("tensor '" + p.name + "': " + e.what());
    }
    Shape expected = p.value->shape();
    bool same = shape.size() == expected.rank();
    for (std::size_t i = 0; same && i < shape.size(); ++i) same = shape[i] == expected[i];
    if (!same) {
      std::string got = "[";
      for (std::size_t i = 0; i < shape.size(); ++i)
        got += (i ? ", " : "") + std::to_string(shape[i]);
      throw fail("tensor '" + p.name + "' has shape " + got + "], the architecture needs " +
                 expected.to_string());
    }
    if (begin > end || end > data_size) {
      throw fail("tensor '" + p.name + "' byte range [" + std::to_string(begin) + ", " +
                 std::to_string(end) + ") is outside the " + std::to_string(data_size) +
                 "-byte data section (truncated file?)");
    }
    if (end - begin != p.value->size() * sizeof(float)) {
      throw fail("tensor '" + p.name + "' byte range holds " + std::to_string(end - begin) +
                 " bytes, its shape needs " + std::to_string(p.value->size() * sizeof(float)));
    }
    std::memcpy(p.value->data(), data + begin, end - begin);
    ranges.emplace_back(begin, end);
  }
  if (header.size() != expected_tensors + 1) {
    for (const auto& [key, value] : header.items()) {
      bool known = key == "__metadata__";
      for (const Parameter& p : loaded.model.parameters()) known = known || p.name == key;
      if (!known) throw fail("unexpected tensor '" + key + "' for preset " + loaded.info.preset);
    }
  }
  std::sort(ranges.begin(), ranges.end());
  std::uint64_t covered = 0;
  for (const auto& [begin, end] : ranges) {
    if (begin < covered) throw fail("tensor byte ranges overlap");
    if (begin > covered)
      throw fail("the data section has a gap at byte " + std::to_string(covered));
    covered = end;
  }
  if (covered != data_size) {
    throw fail(std::to_string(data_size - covered) + " bytes after the last tensor");
  }
  return loaded;
}

}  // namespace cnn
