#include "server.hpp"

#include <httplib.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>

#include "cnn/data/data_source.hpp"
#include "cnn/data/idx.hpp"
#include "cnn/model.hpp"
#include "image_bytes.hpp"
#include "request_checks.hpp"
#include "run_files.hpp"
#include "web_assets.hpp"

namespace cnn::serve {

namespace fs = std::filesystem;
using nlohmann::json;

const WebAsset* find_web_asset(std::string_view name) {
  for (const WebAsset& asset : web_assets()) {
    if (asset.name == name) return &asset;
  }
  return nullptr;
}

namespace {

constexpr const char* kContentSecurityPolicy =
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'";
// With its charset named: Debian's httplib library (built with brotli and zlib) compresses an
// answer whose type is exactly "application/json" whenever the client accepts it, which browsers
// always do, and its brotli took 24-30 s for a 14 MB metrics log (1.6 s plain) and tripled the
// time of a normal one; on loopback the bytes saved are worth less than that time. Any parameter
// after the type turns that off, and UTF-8 is what nlohmann::json writes.
constexpr const char* kJson = "application/json; charset=utf-8";
constexpr const char* kTokenCookie = "cnn_token";

// An answer with a status and a message, thrown by the handlers and turned into
// {"error": message}.
struct HttpError : std::runtime_error {
  HttpError(int status_code, const std::string& message)
      : std::runtime_error(message), status(status_code) {}
  int status;
};

std::string dump(const json& value) {
  // Names from the file system or a command line may hold bytes that are not UTF-8.
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

void send_json(httplib::Response& res, const json& value, int status = 200) {
  res.status = status;
  res.set_content(dump(value), kJson);
}

void send_error(httplib::Response& res, int status, const std::string& message) {
  send_json(res, json{{"error", message}}, status);
}

// A float as JSON with 6 significant digits (the shortest text of that value), so that feature
// maps and weights are not sent with 17 digits each.
json short_number(double value) {
  if (!std::isfinite(value)) return nullptr;
  char text[32];
  std::snprintf(text, sizeof text, "%.6g", value);
  return std::strtod(text, nullptr);
}

json short_numbers(const float* values, std::size_t count) {
  json array = json::array();
  for (std::size_t i = 0; i < count; ++i) array.push_back(short_number(values[i]));
  return array;
}

std::vector<float> softmax(std::span<const float> logits) {
  std::vector<float> p(logits.size());
  if (logits.empty()) return p;
  const float top = *std::max_element(logits.begin(), logits.end());
  double sum = 0.0;
  for (std::size_t i = 0; i < logits.size(); ++i) {
    p[i] = std::exp(logits[i] - top);
    sum += p[i];
  }
  for (float& v : p) v = static_cast<float>(v / sum);
  return p;
}

json parse_json_or_null(const std::optional<std::string>& text) {
  if (!text) return nullptr;
  json value = json::parse(*text, nullptr, /*allow_exceptions=*/false);
  return value.is_discarded() ? json(nullptr) : value;
}

// The last complete line of a metrics log, read from its last 4 KiB.
std::optional<MetricsRow> last_metrics_row(const fs::path& path) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) return std::nullopt;
  std::string tail(4096, '\0');
  long start = 0;
  if (std::fseek(file, 0, SEEK_END) == 0) {
    const long size = std::ftell(file);
    start = size > 4096 ? size - 4096 : 0;
  }
  std::fseek(file, start, SEEK_SET);
  tail.resize(std::fread(tail.data(), 1, tail.size(), file));
  std::fclose(file);
  const std::size_t last_end = tail.rfind('\n');
  if (last_end == std::string::npos || last_end == 0) return std::nullopt;
  const std::size_t line_start = tail.rfind('\n', last_end - 1);
  if (line_start == std::string::npos && start != 0) return std::nullopt;
  const std::string line =
      tail.substr(line_start == std::string::npos ? 0 : line_start + 1,
                  last_end - (line_start == std::string::npos ? 0 : line_start + 1) + 1);
  if (line.starts_with("step,")) return std::nullopt;  // header only
  try {
    const std::vector<MetricsRow> rows =
        parse_metrics_lines(std::string(kMetricsHeader) + "\n" + line, 0, path.string());
    if (!rows.empty()) return rows.back();
  } catch (const DataError&) {
  }
  return std::nullopt;
}

// The preset of a folder named as cnn train names run folders, <YYYYmmdd>-<HHMMSS>-<preset> with
// -2, -3... appended when taken ("20261206-025340-lenet5-2": "lenet5"); nullopt for other names.
// (Not std::regex: GCC 12 warns falsely inside <regex> in sanitizer builds.)
std::optional<std::string> preset_of_folder_name(std::string_view id) {
  auto digits = [&](std::size_t from, std::size_t count) {
    if (id.size() < from + count) return false;
    for (std::size_t i = from; i < from + count; ++i) {
      if (id[i] < '0' || id[i] > '9') return false;
    }
    return true;
  };
  if (!digits(0, 8) || id.size() < 17 || id[8] != '-' || !digits(9, 6) || id[15] != '-') {
    return std::nullopt;
  }
  std::string_view preset = id.substr(16);
  if (const std::size_t dash = preset.rfind('-'); dash != std::string_view::npos) {
    if (dash + 1 >= preset.size() ||
        !std::all_of(preset.begin() + static_cast<long>(dash) + 1, preset.end(),
                     [](char ch) { return ch >= '0' && ch <= '9'; })) {
      return std::nullopt;
    }
    preset = preset.substr(0, dash);
  }
  if (preset.empty() || !std::all_of(preset.begin(), preset.end(), [](char ch) {
        return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
               ch == '_';
      })) {
    return std::nullopt;
  }
  return std::string(preset);
}

}  // namespace

// A model as the API offers it, with what is read from its network once (at load, while no
// other thread uses it), so that no request touches network() outside the model's lock. Outside
// the anonymous namespace because Server::Impl holds it.
struct ServedModel {
  std::string id, name;
  fs::path path;
  fs::file_time_type written;
  std::uintmax_t bytes = 0;
  Model model;
  std::vector<std::string> layer_names;
  std::vector<std::size_t> conv_layers;  // indices of the convolution layers
  json filters;                          // the first convolution's weights (null when none)
};

namespace {

std::shared_ptr<ServedModel> load_model(const std::string& id, const std::string& name,
                                        const fs::path& path) {
  std::error_code ec;
  const auto written = fs::last_write_time(path, ec);
  const auto bytes = fs::file_size(path, ec);
  auto loaded = std::make_shared<ServedModel>(
      ServedModel{id, name, path, written, bytes, Model::load(path), {}, {}, nullptr});
  loaded->layer_names = loaded->model.layer_names();
  Sequential& network = loaded->model.network();
  for (std::size_t i = 0; i < network.size(); ++i) {
    if (network.layer(i).kind() != "conv2d") continue;
    loaded->conv_layers.push_back(i);
    if (!loaded->filters.is_null()) continue;
    for (const Parameter& parameter : network.layer(i).parameters()) {
      if (parameter.name != "weight" || parameter.value->shape().rank() != 4) continue;
      const Shape& shape = parameter.value->shape();
      loaded->filters = json{{"layer", loaded->layer_names[i]},
                             {"index", i},
                             {"out", shape[0]},
                             {"in", shape[1]},
                             {"kh", shape[2]},
                             {"kw", shape[3]},
                             {"weights", short_numbers(parameter.value->data(), shape.numel())}};
    }
  }
  return loaded;
}

json model_description(const ServedModel& loaded) {
  const Shape& input = loaded.model.input_shape();
  return json{{"id", loaded.id},
              {"name", loaded.name},
              {"input", {input[0], input[1], input[2]}},
              {"classes", loaded.model.classes()},
              {"names", loaded.model.class_names()},
              {"preparation", preparation_name(loaded.model.info().preparation)},
              {"layers", loaded.layer_names}};
}

}  // namespace

struct Server::Impl {
  ServeOptions options;
  fs::path runs_root;  // absolute, canonical where it exists
  std::string token;
  int port = 0;
  httplib::Server http;

  // Loaded models, at most kCachedModels (the least recently used goes; a request still using
  // it keeps it alive), and the description of every model listed, so that listing the models of
  // many runs does not keep them all in memory.
  static constexpr std::size_t kCachedModels = 16;
  struct CachedModel {
    std::shared_ptr<ServedModel> model;
    std::uint64_t last_used = 0;
  };
  struct Description {
    fs::file_time_type written;
    std::uintmax_t bytes = 0;
    json value;
  };
  std::mutex models_mutex;
  std::map<std::string, CachedModel> models;
  std::map<std::string, Description> descriptions;
  std::uint64_t model_uses = 0;
  std::shared_ptr<ServedModel> default_model;

  std::mutex test_sets_mutex;
  struct TestSet {
    std::string data;  // run.json's "data" it was loaded from
    std::shared_ptr<const Dataset> images;
  };
  std::map<std::string, TestSet> test_sets;

  explicit Impl(ServeOptions given) : options(std::move(given)) {}

  // ---- runs ----
  fs::path run_path(const std::string& id) const {
    const std::optional<fs::path> folder = run_folder(runs_root, id);
    if (!folder) throw HttpError(400, "not a run id: '" + id + "'");
    std::error_code ec;
    if (!fs::is_directory(*folder, ec)) throw HttpError(404, "no run '" + id + "'");
    return *folder;
  }

  static json read_record(const fs::path& run) {
    return parse_json_or_null(read_file_text(run / "run.json", std::size_t{16} << 20));
  }

  json run_summary(const std::string& id, const fs::path& run, const json& record) const {
    json summary = {{"id", id}, {"status", run_status(run, record)}};
    const json settings =
        record.is_object() && record.contains("command") && record["command"].is_string()
            ? settings_from_command(record["command"].get<std::string>())
            : json::object();
    if (settings.contains("preset")) {
      summary["preset"] = settings["preset"];
    } else {
      // Folders named by cnn train: <date>-<time>-<preset>.
      if (const std::optional<std::string> preset = preset_of_folder_name(id)) {
        summary["preset"] = *preset;
      }
    }
    if (settings.contains("architecture")) summary["architecture"] = settings["architecture"];
    if (record.is_object()) {
      for (const char* key :
           {"resume_command", "best_validation_accuracy", "test_accuracy", "started", "ended",
            "training_seconds", "iterations", "planned_iterations", "data_format", "error"}) {
        if (record.contains(key)) summary[key] = record[key];
      }
    }
    if (const std::optional<MetricsRow> last = last_metrics_row(run / "metrics.csv")) {
      summary["images_per_second"] = last->images_per_second;
      summary["last_step"] = last->step;
      if (!summary.contains("iterations")) summary["iterations"] = last->step;
      if (!summary.contains("training_seconds")) summary["training_seconds"] = last->wall_seconds;
    }
    std::error_code ec;
    summary["has_model"] = fs::is_regular_file(run / "model.safetensors", ec);
    summary["has_test_predictions"] = fs::is_regular_file(run / "test_predictions.csv", ec);
    return summary;
  }

  json list_runs() const {
    json runs = json::array();
    std::error_code ec;
    std::vector<std::string> ids;
    for (fs::directory_iterator it(runs_root, ec), end; !ec && it != end; it.increment(ec)) {
      const std::string id = it->path().filename().string();
      if (!valid_run_id(id) || !run_folder(runs_root, id)) continue;  // hidden, or leads outside
      std::error_code type_ec;
      if (!fs::is_directory(it->path(), type_ec)) continue;
      ids.push_back(id);
    }
    std::sort(ids.begin(), ids.end());
    for (const std::string& id : ids) {
      const fs::path run = runs_root / id;
      const json record = read_record(run);
      std::error_code exists_ec;
      if (record.is_null() && !fs::exists(run / "metrics.csv", exists_ec)) continue;
      runs.push_back(run_summary(id, run, record));
    }
    return json{{"runs", runs}};
  }

  json run_details(const std::string& id) const {
    const fs::path run = run_path(id);
    json record = read_record(run);
    json details = record.is_object() ? record : json::object();
    details["id"] = id;
    details["status"] = run_status(run, record);
    details["settings"] = details.contains("command") && details["command"].is_string()
                              ? settings_from_command(details["command"].get<std::string>())
                              : json::object();
    const json summary = run_summary(id, run, record);
    for (const char* key :
         {"preset", "images_per_second", "has_model", "has_test_predictions", "last_step"}) {
      if (summary.contains(key)) details[key] = summary[key];
    }
    return details;
  }

  json metrics_since(const std::string& id, std::size_t since) const {
    const fs::path run = run_path(id);
    const json record = read_record(run);
    const fs::path path = run / "metrics.csv";
    const std::optional<std::string> text = read_file_text(path);
    std::vector<MetricsRow> rows;
    if (text) rows = parse_metrics_lines(*text, since, path.string());
    json out_rows = json::array();
    for (const MetricsRow& row : rows) {
      out_rows.push_back(
          json{{"step", row.step},
               {"epoch", row.epoch},
               {"loss", short_number(row.loss)},
               {"learning_rate", row.learning_rate},
               {"validation_accuracy",
                row.validation_accuracy ? json(*row.validation_accuracy) : json(nullptr)},
               {"images_per_second", row.images_per_second},
               {"wall_seconds", row.wall_seconds}});
    }
    const std::string status = run_status(run, record);
    json answer = {
        {"rows", out_rows}, {"next", rows.empty() ? since : rows.back().step}, {"status", status}};
    if (record.is_object() && record.contains("planned_iterations")) {
      answer["planned_iterations"] = record["planned_iterations"];
    }
    // Time left, from the pace so far (the last row read: this answer's or, with no new rows, the
    // file's last).
    const std::optional<MetricsRow> last =
        rows.empty() ? last_metrics_row(path) : std::optional<MetricsRow>(rows.back());
    if (status == "running" && last && last->step > 0 && answer.contains("planned_iterations") &&
        answer["planned_iterations"].is_number_unsigned()) {
      const auto planned = answer["planned_iterations"].get<std::size_t>();
      if (planned >= last->step) {
        answer["seconds_left"] = last->wall_seconds / static_cast<double>(last->step) *
                                 static_cast<double>(planned - last->step);
      }
    }
    return answer;
  }

  // test_predictions.csv and the class names of the run.
  PredictionsTable predictions(const fs::path& run, std::vector<std::string>& names) const {
    const fs::path path = run / "test_predictions.csv";
    const std::optional<std::string> text = read_file_text(path);
    if (!text) throw HttpError(404, "the run has no test predictions (yet): no " + path.string());
    PredictionsTable table = parse_predictions(*text, path.string());
    const json record = read_record(run);
    if (record.is_object() && record.contains("class_names") && record["class_names"].is_array()) {
      for (const json& name : record["class_names"]) {
        names.push_back(name.is_string() ? name.get<std::string>() : dump(name));
      }
    }
    std::size_t classes = std::max(names.size(), table.classes);
    for (std::size_t i = 0; i < table.labels.size(); ++i) {
      classes = std::max({classes, static_cast<std::size_t>(table.labels[i]) + 1,
                          static_cast<std::size_t>(table.predicted[i]) + 1});
    }
    for (std::size_t c = names.size(); c < classes; ++c) names.push_back(std::to_string(c));
    return table;
  }

  json confusion(const std::string& id) const {
    std::vector<std::string> names;
    const PredictionsTable table = predictions(run_path(id), names);
    const std::size_t classes = names.size();
    std::vector<std::vector<std::size_t>> matrix(classes, std::vector<std::size_t>(classes, 0));
    for (std::size_t i = 0; i < table.labels.size(); ++i) {
      ++matrix[static_cast<std::size_t>(table.labels[i])]
              [static_cast<std::size_t>(table.predicted[i])];
    }
    return json{{"classes", classes},
                {"names", names},
                {"matrix", matrix},
                {"images", table.labels.size()}};
  }

  json confusion_pair(const std::string& id, std::size_t true_class, std::size_t predicted,
                      std::size_t limit) const {
    std::vector<std::string> names;
    const PredictionsTable table = predictions(run_path(id), names);
    if (true_class >= names.size() || predicted >= names.size()) {
      throw HttpError(404, "no class " + std::to_string(std::max(true_class, predicted)) +
                               ": the run has " + std::to_string(names.size()) + " classes");
    }
    json images = json::array();
    std::size_t total = 0;
    for (std::size_t i = 0; i < table.labels.size(); ++i) {
      if (static_cast<std::size_t>(table.labels[i]) != true_class ||
          static_cast<std::size_t>(table.predicted[i]) != predicted) {
        continue;
      }
      ++total;
      if (images.size() >= limit) continue;
      json image = {{"index", i},
                    {"label", table.labels[i]},
                    {"predicted", table.predicted[i]},
                    {"confidence", short_number(table.confidence[i])}};
      if (table.classes > 0) {
        const std::vector<float> p =
            softmax({table.logits.data() + i * table.classes, table.classes});
        image["probabilities"] = short_numbers(p.data(), p.size());
      } else {
        image["probabilities"] = json::array();
      }
      images.push_back(image);
    }
    return json{{"images", images}, {"total", total}, {"names", names}};
  }

  std::shared_ptr<const Dataset> test_set(const std::string& id) {
    const fs::path run = run_path(id);
    const json record = read_record(run);
    if (!record.is_object() || !record.contains("data") || !record["data"].is_string()) {
      throw HttpError(404, "run '" + id + "' records no data folder (run.json \"data\")");
    }
    const std::string data = record["data"].get<std::string>();
    std::lock_guard lock(test_sets_mutex);
    if (const auto found = test_sets.find(id);
        found != test_sets.end() && found->second.data == data) {
      return found->second.images;
    }
    std::error_code ec;
    if (!fs::exists(data, ec)) {
      throw HttpError(404, "the run's data '" + data + "' is gone: no test images to show");
    }
    DataOptions loading;
    loading.test_only = true;
    const json settings = record.contains("command") && record["command"].is_string()
                              ? settings_from_command(record["command"].get<std::string>())
                              : json::object();
    if (settings.contains("channels") && settings["channels"].is_string()) {
      loading.channels = parse_count(settings["channels"].get<std::string>(), 3).value_or(0);
    }
    if (settings.contains("image-size") && settings["image-size"].is_string()) {
      const std::string size = settings["image-size"].get<std::string>();
      const std::size_t x = size.find('x');
      if (x != std::string::npos) {
        loading.height = parse_count(size.substr(0, x), 16384).value_or(0);
        loading.width = parse_count(size.substr(x + 1), 16384).value_or(0);
        if (loading.height == 0 || loading.width == 0) loading.height = loading.width = 0;
      }
    }
    DataSource source = load_data_source(data, loading);
    if (!source.test) throw HttpError(404, "the run's data '" + data + "' has no test set");
    auto images = std::make_shared<const Dataset>(std::move(*source.test));
    if (test_sets.size() >= 8) test_sets.clear();  // a few runs' test sets, not every run's
    test_sets[id] = TestSet{data, images};
    return images;
  }

  // ---- models ----
  // The model `id` ("default": --model; else the run's model.safetensors), loaded once and again
  // when the file changes; nullptr when there is none.
  std::shared_ptr<ServedModel> model(const std::string& id) {
    if (id == "default" && default_model) return default_model;
    const fs::path run = run_path(id);
    const fs::path path = run / "model.safetensors";
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) {
      throw HttpError(404, "run '" + id + "' has no model (yet): no " + path.string());
    }
    const auto written = fs::last_write_time(path, ec);
    const auto bytes = fs::file_size(path, ec);
    std::lock_guard lock(models_mutex);
    if (const auto found = models.find(id); found != models.end() &&
                                            found->second.model->written == written &&
                                            found->second.model->bytes == bytes) {
      found->second.last_used = ++model_uses;
      return found->second.model;
    }
    auto loaded = load_model(id, id, path);
    models.erase(id);
    if (models.size() >= kCachedModels) {
      models.erase(std::min_element(models.begin(), models.end(), [](const auto& a, const auto& b) {
        return a.second.last_used < b.second.last_used;
      }));
    }
    models[id] = CachedModel{loaded, ++model_uses};
    descriptions[id] = Description{loaded->written, loaded->bytes, model_description(*loaded)};
    return loaded;
  }

  // The description of run `id`'s model, from the cache while its file is unchanged.
  json run_model_description(const std::string& id) {
    const fs::path path = run_path(id) / "model.safetensors";
    std::error_code ec;
    const auto written = fs::last_write_time(path, ec);
    const auto bytes = fs::file_size(path, ec);
    {
      std::lock_guard lock(models_mutex);
      if (const auto found = descriptions.find(id); found != descriptions.end() &&
                                                    found->second.written == written &&
                                                    found->second.bytes == bytes) {
        return found->second.value;
      }
    }
    return model_description(*model(id));
  }

  json list_models() {
    json list = json::array();
    if (default_model) list.push_back(model_description(*default_model));
    std::error_code ec;
    std::vector<std::string> ids;
    for (fs::directory_iterator it(runs_root, ec), end; !ec && it != end; it.increment(ec)) {
      const std::string id = it->path().filename().string();
      std::error_code file_ec;
      if (!valid_run_id(id) || (id == "default" && default_model) || !run_folder(runs_root, id) ||
          !fs::is_regular_file(it->path() / "model.safetensors", file_ec)) {
        continue;
      }
      ids.push_back(id);
    }
    std::sort(ids.begin(), ids.end());
    for (const std::string& id : ids) {
      try {
        list.push_back(run_model_description(id));
      } catch (const std::exception&) {
        // A model file being written or broken: left out of the list (its endpoints say why).
      }
    }
    return json{{"models", list}};
  }

  // The uploaded image, decoded by the image loader (its message on failure).
  static Image decode_upload(const std::string& body) {
    if (body.empty()) throw HttpError(400, "empty request body: send the bytes of an image file");
    const std::span<const std::uint8_t> bytes(reinterpret_cast<const std::uint8_t*>(body.data()),
                                              body.size());
    if (const std::optional<ImageSize> size = declared_image_size(bytes)) {
      if (size->width > kMaxUploadSide || size->height > kMaxUploadSide) {
        throw HttpError(413, "upload: " + std::to_string(size->width) + "x" +
                                 std::to_string(size->height) + " pixels, more than the " +
                                 std::to_string(kMaxUploadSide) + "x" +
                                 std::to_string(kMaxUploadSide) + " accepted");
      }
    }
    try {
      Image image = decode_image_natural(bytes, "upload");
      if (image.width > kMaxUploadSide || image.height > kMaxUploadSide) {
        throw HttpError(413, "upload: " + std::to_string(image.width) + "x" +
                                 std::to_string(image.height) + " pixels, more than the " +
                                 std::to_string(kMaxUploadSide) + "x" +
                                 std::to_string(kMaxUploadSide) + " accepted");
      }
      return image;
    } catch (const ImageError& e) {
      throw HttpError(400, e.what());
    }
  }

  static Image prepare_upload(const ServedModel& loaded, const Image& image) {
    try {
      return loaded.model.prepare(image, "upload");
    } catch (const ImageError& e) {
      throw HttpError(400, e.what());
    }
  }

  json predict(const std::string& id, const std::string& body) {
    const std::shared_ptr<ServedModel> loaded = model(id);
    const Image prepared = prepare_upload(*loaded, decode_upload(body));
    const Predictions result = loaded->model.predict_pixels(prepared.pixels, 1);
    const std::vector<std::string> names = loaded->model.class_names();
    const auto label = static_cast<std::size_t>(result.labels[0]);
    const std::span<const float> p = result.probabilities_of(0);
    return json{{"model", id},
                {"predicted", label},
                {"name", names.at(label)},
                {"probabilities", short_numbers(p.data(), p.size())},
                {"names", names},
                {"prepared",
                 {{"width", prepared.width},
                  {"height", prepared.height},
                  {"channels", prepared.channels},
                  {"pixels", prepared.pixels}}}};
  }

  json features(const std::string& id, const std::string& body) {
    const std::shared_ptr<ServedModel> loaded = model(id);
    const Image prepared = prepare_upload(*loaded, decode_upload(body));
    const Shape& input = loaded->model.input_shape();
    Tensor x(Shape{1, input[0], input[1], input[2]});
    loaded->model.normalization().apply(prepared.pixels.data(), input[0], input[1] * input[2],
                                        x.data());
    const std::vector<Tensor> outputs = loaded->model.activations(x);
    json layers = json::array();
    for (const std::size_t i : loaded->conv_layers) {
      const Tensor& y = outputs.at(i);
      if (y.shape().rank() != 4) continue;
      layers.push_back(json{{"index", i},
                            {"name", loaded->layer_names.at(i)},
                            {"channels", y.shape()[1]},
                            {"height", y.shape()[2]},
                            {"width", y.shape()[3]},
                            {"values", short_numbers(y.data(), y.size())}});
    }
    return json{{"model", id},
                {"layers", layers},
                {"prepared",
                 {{"width", prepared.width},
                  {"height", prepared.height},
                  {"channels", prepared.channels},
                  {"pixels", prepared.pixels}}}};
  }

  // ---- security ----
  bool authorised(const httplib::Request& req) const {
    const std::string from_query = req.get_param_value("token");
    if (!from_query.empty()) return tokens_equal(from_query, token);
    const std::string from_header = bearer_token(req.get_header_value("Authorization"));
    if (!from_header.empty()) return tokens_equal(from_header, token);
    const std::string from_cookie = cookie_value(req.get_header_value("Cookie"), kTokenCookie);
    return !from_cookie.empty() && tokens_equal(from_cookie, token);
  }

  void setup_routes();
};

namespace {

std::string match(const httplib::Request& req, std::size_t group) {
  return group < req.matches.size() ? req.matches[static_cast<int>(group)].str() : "";
}

std::size_t count_param(const httplib::Request& req, const std::string& name, std::size_t fallback,
                        std::size_t largest) {
  if (!req.has_param(name.c_str())) return fallback;
  const std::string text = req.get_param_value(name.c_str());
  const std::optional<std::size_t> value = parse_count(text, largest);
  if (!value) {
    throw HttpError(400, name + "=" + text.substr(0, 40) + ": expected a whole number from 0 to " +
                             std::to_string(largest));
  }
  return *value;
}

// Runs a handler, turning what it throws into a JSON error: HttpError as it says, a broken file
// of a run (DataError, ModelFileError, ImageError) as 500 with its message.
template <typename Handler>
httplib::Server::Handler guarded(Handler handler) {
  return [handler](const httplib::Request& req, httplib::Response& res) {
    try {
      handler(req, res);
    } catch (const HttpError& e) {
      send_error(res, e.status, e.what());
    } catch (const std::exception& e) {
      send_error(res, 500, e.what());
    }
  };
}

}  // namespace

void Server::Impl::setup_routes() {
  http.set_default_headers({{"Content-Security-Policy", kContentSecurityPolicy},
                            {"X-Content-Type-Options", "nosniff"},
                            {"Referrer-Policy", "no-referrer"},
                            {"X-Frame-Options", "DENY"},
                            {"Cache-Control", "no-store"}});
  http.set_payload_max_length(kMaxBodyBytes);
  // httplib's default also sets SO_REUSEPORT, with which a second cnn serve on the same port
  // would share it (each getting some of the connections) instead of being told it is in use.
  http.set_socket_options([](socket_t socket) {
    const int yes = 1;
    ::setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  // A kept-alive connection holds a pool thread while it idles: at most 1 s, 100 requests.
  http.set_keep_alive_timeout(1);
  http.set_keep_alive_max_count(100);
  http.set_read_timeout(5);
  http.set_write_timeout(5);
  const std::size_t threads = std::max<std::size_t>(options.threads, 2);
  http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };

  http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (!host_allowed(req.get_header_value("Host"), port, options.host)) {
      send_error(res, 403,
                 "Host '" + req.get_header_value("Host").substr(0, 100) +
                     "' is not this server: open the address cnn serve printed");
      return httplib::Server::HandlerResponse::Handled;
    }
    if (!authorised(req)) {
      send_error(res, 403,
                 "missing or wrong access token: open the address with ?token= that cnn serve "
                 "printed");
      return httplib::Server::HandlerResponse::Handled;
    }
    if (req.path.starts_with("/api/") || req.path == "/api") {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    // The page's files.
    if (req.method != "GET" && req.method != "HEAD") {
      send_error(res, 405, req.method + " " + req.path.substr(0, 100) + ": only GET is served");
      return httplib::Server::HandlerResponse::Handled;
    }
    const std::optional<std::string> name = web_file_name(req.path);
    const WebAsset* asset = name ? find_web_asset(*name) : nullptr;
    if (asset == nullptr) {
      send_error(res, 404, "no file '" + req.path.substr(0, 100) + "'");
      return httplib::Server::HandlerResponse::Handled;
    }
    res.status = 200;
    res.set_content(reinterpret_cast<const char*>(asset->bytes.data()), asset->bytes.size(),
                    std::string(asset->mime).c_str());
    if (*name == "index.html" && req.has_param("token")) {
      // The page's own requests (fetch, <img>) then carry the token without script code.
      res.set_header("Set-Cookie", std::string(kTokenCookie) + "=" + token +
                                       "; HttpOnly; SameSite=Strict; Path=/");
    }
    return httplib::Server::HandlerResponse::Handled;
  });

  http.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    std::string message;
    switch (res.status) {
      case 404:
        message = "no such endpoint: " + req.method + " " + req.path.substr(0, 100);
        break;
      case 413:
        message = "request body larger than " + std::to_string(kMaxBodyBytes >> 20) + " MiB";
        break;
      case 400:
        message = "bad request";
        break;
      default:
        message = "HTTP " + std::to_string(res.status);
    }
    send_error(res, res.status, message);
  });
  http.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr error) {
        std::string message = "internal error";
        try {
          if (error) std::rethrow_exception(error);
        } catch (const std::exception& e) {
          message = e.what();
        } catch (...) {
        }
        send_error(res, 500, message);
      });

  http.Get("/api/runs", guarded([this](const httplib::Request&, httplib::Response& res) {
             send_json(res, list_runs());
           }));
  http.Get(R"(/api/runs/([^/]+))",
           guarded([this](const httplib::Request& req, httplib::Response& res) {
             send_json(res, run_details(match(req, 1)));
           }));
  http.Get(R"(/api/runs/([^/]+)/metrics)",
           guarded([this](const httplib::Request& req, httplib::Response& res) {
             const std::size_t since =
                 count_param(req, "since", 0, std::numeric_limits<std::size_t>::max() / 2);
             send_json(res, metrics_since(match(req, 1), since));
           }));
  http.Get(R"(/api/runs/([^/]+)/confusion)",
           guarded([this](const httplib::Request& req, httplib::Response& res) {
             send_json(res, confusion(match(req, 1)));
           }));
  http.Get(R"(/api/runs/([^/]+)/confusion/([0-9]{1,6})/([0-9]{1,6}))",
           guarded([this](const httplib::Request& req, httplib::Response& res) {
             const std::size_t limit = count_param(req, "limit", 60, 10000);
             send_json(res, confusion_pair(match(req, 1), *parse_count(match(req, 2), 999999),
                                           *parse_count(match(req, 3), 999999), limit));
           }));
  http.Get(R"(/api/runs/([^/]+)/test-images/([0-9]{1,9})\.png)",
           guarded([this](const httplib::Request& req, httplib::Response& res) {
             const std::shared_ptr<const Dataset> images = test_set(match(req, 1));
             const std::size_t index = *parse_count(match(req, 2), 999999999);
             if (index >= images->size()) {
               throw HttpError(404, "no test image " + std::to_string(index) + ": the run's " +
                                        "test set has " + std::to_string(images->size()));
             }
             const std::uint8_t* pixels = images->image(index);
             const Image image{images->channels(), images->rows(), images->cols(),
                               std::vector<std::uint8_t>(pixels, pixels + images->image_bytes())};
             res.set_content(encode_png(image), "image/png");
           }));
  http.Get("/api/models", guarded([this](const httplib::Request&, httplib::Response& res) {
             send_json(res, list_models());
           }));
  http.Get(R"(/api/models/([^/]+)/filters)",
           guarded([this](const httplib::Request& req, httplib::Response& res) {
             const std::shared_ptr<ServedModel> loaded = model(match(req, 1));
             if (loaded->filters.is_null()) throw HttpError(404, "the model has no convolution");
             send_json(res, loaded->filters);
           }));
  http.Post(R"(/api/models/([^/]+)/predict)",
            guarded([this](const httplib::Request& req, httplib::Response& res) {
              send_json(res, predict(match(req, 1), req.body));
            }));
  http.Post(R"(/api/models/([^/]+)/features)",
            guarded([this](const httplib::Request& req, httplib::Response& res) {
              send_json(res, features(match(req, 1), req.body));
            }));
}

Server::Server(ServeOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {
  Impl& impl = *impl_;
  std::error_code ec;
  if (fs::exists(impl.options.runs, ec) && !fs::is_directory(impl.options.runs, ec)) {
    throw ServeError("--runs: '" + impl.options.runs.string() + "' is a file, not a folder");
  }
  impl.runs_root = fs::weakly_canonical(fs::absolute(impl.options.runs), ec);
  if (ec) {
    throw ServeError("--runs: cannot resolve '" + impl.options.runs.string() +
                     "': " + ec.message());
  }
  impl.token = impl.options.token.empty() ? random_token() : impl.options.token;
  if (!impl.options.model.empty()) {
    impl.default_model =
        load_model("default", impl.options.model.filename().string(), impl.options.model);
  }
  impl.setup_routes();
  if (impl.options.port < 0 || impl.options.port > 65535) {
    throw ServeError("--port: " + std::to_string(impl.options.port) + " is not a port (0-65535)");
  }
  if (impl.options.port == 0) {
    impl.port = impl.http.bind_to_any_port(impl.options.host);
    if (impl.port <= 0) {
      throw ServeError("cannot listen on " + impl.options.host + " (any port)");
    }
  } else {
    if (!impl.http.bind_to_port(impl.options.host, impl.options.port)) {
      throw ServeError("cannot listen on " + impl.options.host + ":" +
                       std::to_string(impl.options.port) +
                       " (in use by another program? choose another with --port)");
    }
    impl.port = impl.options.port;
  }
}

Server::~Server() {
  stop();
}

int Server::port() const {
  return impl_->port;
}

const std::string& Server::token() const {
  return impl_->token;
}

std::string Server::url() const {
  std::string host = impl_->options.host;
  if (host == "0.0.0.0" || host == "::" || host.empty()) host = "127.0.0.1";
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  return "http://" + host + ":" + std::to_string(impl_->port) + "/?token=" + impl_->token;
}

bool Server::run() {
  return impl_->http.listen_after_bind();
}

void Server::stop() {
  impl_->http.stop();
}

bool Server::running() const {
  return impl_->http.is_running();
}

}  // namespace cnn::serve
