// cnn serve's HTTP API, in process: a Server on a free port over a runs folder the test builds
// (a small model, run.json, metrics.csv, test_predictions.csv, a synthetic IDX data set), asked
// with httplib's client. Every endpoint, the bad requests (token, Host, traversal, sizes, broken
// images, unknown runs), files being written while read, the run.lock status, 50 clients at once
// and the read-only promise (the runs folder's tree is the same before and after).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "cli_runner.hpp"
#include "cnn/data/data_source.hpp"
#include "cnn/model.hpp"
#include "image_bytes.hpp"
#include "run_files.hpp"
#include "server.hpp"
#include "web_assets.hpp"

namespace cnn::serve {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kToken = "0123456789abcdef0123456789abcdef";
constexpr const char* kMetricsHeader =
    "step,epoch,loss,learning_rate,validation_accuracy,images_per_second,wall_seconds\n";

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

std::string read_bytes(const fs::path& path) {
  return cnn::testing::read_text(path);
}

// Every entry under root (links not followed): its kind, size, modification time and contents.
std::map<std::string, std::string> snapshot(const fs::path& root) {
  std::map<std::string, std::string> tree;
  for (fs::recursive_directory_iterator it(root), end; it != end; ++it) {
    const fs::path& path = it->path();
    const std::string key = fs::relative(path, root).string();
    if (it->is_symlink()) {
      tree[key] = "link " + fs::read_symlink(path).string();
    } else if (it->is_directory()) {
      tree[key] = "dir";
    } else {
      tree[key] = "file " + std::to_string(it->last_write_time().time_since_epoch().count()) + " " +
                  read_bytes(path);
    }
  }
  return tree;
}

// The suite's data and runs, built once: a model trained a few steps on synthetic digits.
class ServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ =
        new fs::path(fs::temp_directory_path() / ("cnn-serve-" + std::to_string(::getpid()) + "-" +
                                                  std::to_string(std::random_device()())));
    const fs::path data = *root_ / "data", runs = *root_ / "runs";
    fs::create_directories(data);
    fs::create_directories(runs);
    cnn::testing::write_synthetic_mnist(data, 200, 50);
    const DataSource source = load_data_source(data, DataOptions{});
    Model model = Model::create("lenet5", Shape{1, 28, 28}, 10, 1);
    ModelTrainOptions options;
    options.train.batch_size = 20;
    options.train.iterations = 10;
    model.train(source.train, options);

    // A finished run with everything.
    const fs::path done = runs / "20261206-010203-lenet5";
    fs::create_directory(done);
    model.save(done / "model.safetensors");
    write_text(done / "run.json",
               json{{"started", "2026-12-06T01:02:03Z"},
                    {"ended", "2026-12-06T01:02:09Z"},
                    {"status", "finished"},
                    {"data", data.string()},
                    {"data_format", "IDX files"},
                    {"command", "cnn train --data " + data.string() +
                                    " --preset lenet5 --lr 0.05 --iterations 10 --no-test"},
                    {"class_names", model.class_names()},
                    {"planned_iterations", 10},
                    {"iterations", 10},
                    {"test_accuracy", 0.5},
                    {"best_validation_accuracy", 0.4}}
                   .dump(2));
    std::string metrics = kMetricsHeader;
    for (int step = 1; step <= 10; ++step) {
      metrics += std::to_string(step) + ",1," + std::to_string(2.5 - 0.1 * step) + ",0.05," +
                 (step % 5 == 0 ? "0.4" : "") + ",1000," + std::to_string(0.01 * step) + "\n";
    }
    write_text(done / "metrics.csv", metrics);
    const Dataset& test = *source.test;
    std::vector<std::uint8_t> pixels(test.image(0), test.image(0) + test.size() * 784);
    const Predictions predictions = model.predict_pixels(pixels, test.size());
    std::string csv = "index,label,predicted,confidence";
    for (int c = 0; c < 10; ++c) csv += ",logit_" + std::to_string(c);
    csv += "\n";
    for (std::size_t i = 0; i < test.size(); ++i) {
      csv += std::to_string(i) + "," + std::to_string(test.label(i)) + "," +
             std::to_string(predictions.labels[i]) + "," +
             std::to_string(predictions.confidence(i));
      for (int c = 0; c < 10; ++c) {
        csv += ',';
        csv += std::to_string(predictions.logits[i * 10 + c]);
      }
      csv += "\n";
    }
    write_text(done / "test_predictions.csv", csv);
    labels_ = new std::vector<std::int32_t>();
    predicted_ = new std::vector<std::int32_t>(predictions.labels);
    for (std::size_t i = 0; i < test.size(); ++i) labels_->push_back(test.label(i));

    // A run of an earlier version: metrics only, no run.json.
    fs::create_directory(runs / "old-run");
    write_text(runs / "old-run" / "metrics.csv", std::string(kMetricsHeader) + "1,1,2,0.1,,5,1\n");
    // Named by cnn train, a second run of the same second: the preset from the name.
    fs::create_directory(runs / "20261206-010203-seed-2");
    write_text(runs / "20261206-010203-seed-2" / "metrics.csv", kMetricsHeader);
    // Not runs: an empty folder, a hidden one, a file, a link leading outside.
    fs::create_directory(runs / "empty");
    fs::create_directory(runs / ".hidden");
    write_text(runs / ".hidden" / "run.json", "{}");
    write_text(runs / "notes.txt", "not a run");
    fs::create_directory(*root_ / "outside");
    write_text(*root_ / "outside" / "run.json", R"({"status":"finished","secret":"outside"})");
    write_text(*root_ / "outside" / "metrics.csv", kMetricsHeader);
    fs::copy_file(done / "model.safetensors", *root_ / "outside" / "model.safetensors");
    fs::create_directory_symlink(*root_ / "outside", runs / "escape");
    // A finished run whose data folder is gone.
    fs::create_directory(runs / "moved-data");
    write_text(runs / "moved-data" / "run.json",
               json{{"status", "finished"}, {"data", (*root_ / "no-such-data").string()}}.dump());
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    fs::remove_all(*root_, ec);
    delete root_;
    delete labels_;
    delete predicted_;
  }

  void SetUp() override {
    ServeOptions options;
    options.runs = runs();
    options.port = 0;
    options.token = kToken;
    server_ = std::make_unique<Server>(options);
    thread_ = std::thread([this] { server_->run(); });
    for (int i = 0; i < 500 && !server_->running(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    ASSERT_TRUE(server_->running());
  }
  void TearDown() override {
    server_->stop();
    thread_.join();
  }

  static fs::path runs() { return *root_ / "runs"; }
  static std::string finished() { return "20261206-010203-lenet5"; }

  httplib::Client client(bool with_token = true) const {
    httplib::Client c("127.0.0.1", server_->port());
    c.set_read_timeout(30);
    if (with_token) c.set_default_headers({{"Authorization", std::string("Bearer ") + kToken}});
    return c;
  }
  httplib::Result get(const std::string& path) const { return client().Get(path.c_str()); }
  httplib::Result post(const std::string& path, const std::string& body) const {
    return client().Post(path.c_str(), body, "application/octet-stream");
  }
  static json body_of(const httplib::Result& result) {
    return json::parse(result->body, nullptr, false);
  }
  static std::string error_of(const httplib::Result& result) {
    const json body = body_of(result);
    return body.is_object() && body.contains("error") ? body["error"].get<std::string>()
                                                      : "(no JSON error: " + result->body + ")";
  }

  static inline fs::path* root_ = nullptr;
  static inline std::vector<std::int32_t>* labels_ = nullptr;
  static inline std::vector<std::int32_t>* predicted_ = nullptr;
  std::unique_ptr<Server> server_;
  std::thread thread_;
};

std::string digit_png(const char* name) {
  return read_bytes(fs::path(CNN_SOURCE_DIR) / "tests/fixtures/digits" / name);
}

TEST_F(ServerTest, UrlHasTheTokenAndPort) {
  EXPECT_EQ(server_->url(),
            "http://127.0.0.1:" + std::to_string(server_->port()) + "/?token=" + kToken);
}

TEST_F(ServerTest, TokenIsRequiredEverywhere) {
  for (const char* path : {"/api/runs", "/", "/index.html", "/api/models", "/nothing"}) {
    const httplib::Result none = client(false).Get(path);
    ASSERT_TRUE(none) << path;
    EXPECT_EQ(none->status, 403) << path;
    EXPECT_NE(error_of(none).find("token"), std::string::npos) << error_of(none);
  }
  httplib::Client wrong("127.0.0.1", server_->port());
  wrong.set_default_headers({{"Authorization", "Bearer 0123456789abcdef0123456789abcdee"}});
  EXPECT_EQ(wrong.Get("/api/runs")->status, 403);
  EXPECT_EQ(client(false).Get("/api/runs?token=wrong")->status, 403);
  EXPECT_EQ(client(false).Post("/api/models/x/predict", "x", "image/png")->status, 403);
  // Each of the three ways.
  EXPECT_EQ(client(false).Get((std::string("/api/runs?token=") + kToken).c_str())->status, 200);
  EXPECT_EQ(get("/api/runs")->status, 200);
  httplib::Client cookie("127.0.0.1", server_->port());
  cookie.set_default_headers({{"Cookie", std::string("other=1; cnn_token=") + kToken}});
  EXPECT_EQ(cookie.Get("/api/runs")->status, 200);
}

TEST_F(ServerTest, ThePageSetsTheCookie) {
  if (find_web_asset("index.html") == nullptr) {
    GTEST_SKIP() << "this build embeds no web/index.html";
  }
  const httplib::Result page = client(false).Get((std::string("/?token=") + kToken).c_str());
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_EQ(page->get_header_value("Content-Type"), "text/html; charset=utf-8");
  const std::string cookie = page->get_header_value("Set-Cookie");
  EXPECT_NE(cookie.find(std::string("cnn_token=") + kToken), std::string::npos) << cookie;
  EXPECT_NE(cookie.find("HttpOnly"), std::string::npos) << cookie;
  EXPECT_NE(cookie.find("SameSite=Strict"), std::string::npos) << cookie;
  // Every embedded file is served with its type.
  for (const WebAsset& asset : web_assets()) {
    std::string path(1, '/');  // (not "/" + ...: GCC 12's -Wrestrict misfires on it)
    path += asset.name;
    const httplib::Result file = get(path);
    ASSERT_TRUE(file);
    EXPECT_EQ(file->status, 200) << asset.name;
    EXPECT_EQ(file->body.size(), asset.bytes.size()) << asset.name;
    EXPECT_EQ(file->get_header_value("Content-Type"), asset.mime) << asset.name;
  }
}

TEST_F(ServerTest, UnknownFilesAre404) {
  const httplib::Result missing = get("/no-such-file.js");
  EXPECT_EQ(missing->status, 404);
  EXPECT_FALSE(error_of(missing).empty());
  EXPECT_EQ(get("/../../etc/passwd")->status, 404);
  EXPECT_EQ(get("/%2e%2e/%2e%2e/etc/passwd")->status, 404);
  EXPECT_EQ(get("/api/nothing")->status, 404);
  EXPECT_EQ(body_of(get("/api/nothing")).contains("error"), true);
}

TEST_F(ServerTest, HostMustNameThisServer) {
  const std::string port = std::to_string(server_->port());
  for (const std::string& host :
       std::vector<std::string>{"evil.example:" + port, "127.0.0.1:1", "127.0.0.1",
                                "localhost.evil.example:" + port, std::string("")}) {
    httplib::Client c = client();
    httplib::Headers headers = {{"Host", host}};
    const httplib::Result result = c.Get("/api/runs", headers);
    ASSERT_TRUE(result) << host;
    EXPECT_EQ(result->status, 403) << host;
    EXPECT_NE(error_of(result).find("Host"), std::string::npos) << error_of(result);
  }
  for (const std::string& host :
       std::vector<std::string>{"localhost:" + port, "[::1]:" + port, "127.0.0.1:" + port}) {
    httplib::Client c = client();
    EXPECT_EQ(c.Get("/api/runs", httplib::Headers{{"Host", host}})->status, 200) << host;
  }
}

TEST_F(ServerTest, SecurityHeadersOnEveryAnswerAndNoCors) {
  httplib::Client c = client();
  const httplib::Headers origin = {{"Origin", "http://evil.example"}};
  for (const char* path : {"/api/runs", "/api/runs/nope", "/nothing"}) {
    const httplib::Result result = c.Get(path, origin);
    ASSERT_TRUE(result);
    EXPECT_EQ(result->get_header_value("Content-Security-Policy"),
              "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src "
              "'self'; connect-src 'self'; frame-ancestors 'none'")
        << path;
    EXPECT_EQ(result->get_header_value("X-Content-Type-Options"), "nosniff");
    EXPECT_EQ(result->get_header_value("Referrer-Policy"), "no-referrer");
    EXPECT_EQ(result->get_header_value("Cache-Control"), "no-store");
    EXPECT_FALSE(result->has_header("Access-Control-Allow-Origin")) << path;
  }
  const httplib::Result forbidden = client(false).Get("/api/runs", origin);
  EXPECT_FALSE(forbidden->get_header_value("Content-Security-Policy").empty());
  EXPECT_FALSE(forbidden->has_header("Access-Control-Allow-Origin"));
  const httplib::Result options = c.Options("/api/runs", origin);
  ASSERT_TRUE(options);
  EXPECT_FALSE(options->has_header("Access-Control-Allow-Origin"));
}

TEST_F(ServerTest, ListsTheRuns) {
  const httplib::Result result = get("/api/runs");
  ASSERT_EQ(result->status, 200);
  EXPECT_EQ(result->get_header_value("Content-Type"), "application/json; charset=utf-8");
  // A browser accepts brotli and gzip; JSON answers still come plain (see kJson in server.cpp).
  const httplib::Result plain =
      client().Get("/api/runs", httplib::Headers{{"Accept-Encoding", "gzip, deflate, br"}});
  ASSERT_TRUE(plain);
  EXPECT_FALSE(plain->has_header("Content-Encoding"));
  EXPECT_EQ(plain->body, result->body);
  const json runs = body_of(result)["runs"];
  std::map<std::string, json> by_id;
  for (const json& run : runs) by_id[run["id"].get<std::string>()] = run;
  // The finished run, old-run, moved-data, the seed run.
  EXPECT_EQ(by_id.size(), 4u) << runs.dump(1);
  EXPECT_EQ(by_id.at("20261206-010203-seed-2")["preset"], "seed");
  EXPECT_FALSE(by_id.at("old-run").contains("preset"));
  const json& done = by_id.at(finished());
  EXPECT_EQ(done["status"], "finished");
  EXPECT_EQ(done["preset"], "lenet5");
  EXPECT_EQ(done["has_model"], true);
  EXPECT_EQ(done["test_accuracy"], 0.5);
  EXPECT_EQ(done["best_validation_accuracy"], 0.4);
  EXPECT_EQ(done["images_per_second"], 1000.0);
  EXPECT_EQ(done["iterations"], 10);
  EXPECT_EQ(done["planned_iterations"], 10);
  EXPECT_EQ(done["started"], "2026-12-06T01:02:03Z");
  EXPECT_EQ(by_id.at("old-run")["status"], "unknown");
  EXPECT_EQ(by_id.at("old-run")["has_model"], false);
  EXPECT_FALSE(by_id.contains("escape"));  // a link leading outside the runs folder
  EXPECT_FALSE(by_id.contains(".hidden"));
  EXPECT_FALSE(by_id.contains("empty"));
  EXPECT_EQ(result->body.find("outside"), std::string::npos);
}

TEST_F(ServerTest, OneRunWithItsSettings) {
  const json run = body_of(get("/api/runs/" + finished()));
  EXPECT_EQ(run["id"], finished());
  EXPECT_EQ(run["status"], "finished");
  EXPECT_EQ(run["data_format"], "IDX files");  // run.json as it is
  EXPECT_EQ(run["settings"]["preset"], "lenet5");
  EXPECT_EQ(run["settings"]["lr"], "0.05");
  EXPECT_EQ(run["settings"]["no-test"], true);
  EXPECT_EQ(get("/api/runs/no-such-run")->status, 404);
  EXPECT_NE(error_of(get("/api/runs/no-such-run")).find("no-such-run"), std::string::npos);
}

TEST_F(ServerTest, TraversalIsRefused) {
  for (const char* path :
       {"/api/runs/..", "/api/runs/%2e%2e", "/api/runs/%2E%2E/metrics", "/api/runs/.",
        "/api/runs/escape", "/api/runs/escape/metrics", "/api/runs/escape/confusion",
        "/api/runs/..%2f..%2fetc", "/api/runs/%2fetc", "/api/runs/..%5c..%5cetc",
        "/api/runs/escape/test-images/0.png", "/api/models/escape/filters", "/api/runs/.hidden",
        "/api/runs/a%00b"}) {
    const httplib::Result result = get(path);
    ASSERT_TRUE(result) << path;
    EXPECT_GE(result->status, 400) << path;
    EXPECT_LT(result->status, 500) << path;
    EXPECT_EQ(result->body.find("outside"), std::string::npos) << path << ": " << result->body;
    EXPECT_TRUE(body_of(result).contains("error")) << path;
  }
  const httplib::Result upload =
      post("/api/models/escape/predict", digit_png("7-transparent-background-500x500.png"));
  EXPECT_EQ(upload->status, 400);
}

TEST_F(ServerTest, MetricsSinceAStep) {
  const json all = body_of(get("/api/runs/" + finished() + "/metrics"));
  ASSERT_EQ(all["rows"].size(), 10u);
  EXPECT_EQ(all["next"], 10);
  EXPECT_EQ(all["status"], "finished");
  EXPECT_EQ(all["planned_iterations"], 10);
  EXPECT_EQ(all["rows"][0]["step"], 1);
  EXPECT_TRUE(all["rows"][0]["validation_accuracy"].is_null());
  EXPECT_EQ(all["rows"][4]["validation_accuracy"], 0.4);
  for (const char* key : {"epoch", "loss", "learning_rate", "images_per_second", "wall_seconds"}) {
    EXPECT_TRUE(all["rows"][0].contains(key)) << key;
  }
  const json later = body_of(get("/api/runs/" + finished() + "/metrics?since=7"));
  ASSERT_EQ(later["rows"].size(), 3u);
  EXPECT_EQ(later["rows"][0]["step"], 8);
  const json none = body_of(get("/api/runs/" + finished() + "/metrics?since=10"));
  EXPECT_TRUE(none["rows"].empty());
  EXPECT_EQ(none["next"], 10);
  for (const char* bad : {"-1", "x", "1.5", "", "99999999999999999999999"}) {
    EXPECT_EQ(get("/api/runs/" + finished() + "/metrics?since=" + bad)->status, 400) << bad;
  }
  EXPECT_EQ(get("/api/runs/nope/metrics")->status, 404);
}

// A run being written: a metrics line half written is not returned until it is whole; the status
// follows run.lock.
TEST_F(ServerTest, ARunWrittenWhileRead) {
  const fs::path live = runs() / "live-run";
  fs::create_directory(live);
  write_text(live / "run.json", json{{"status", "running"},
                                     {"host", this_host_name()},
                                     {"planned_iterations", 100},
                                     {"command", "cnn train --data d --epochs 3"}}
                                    .dump());
  const int lock = ::open((live / "run.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  ASSERT_GE(lock, 0);
  ASSERT_EQ(::flock(lock, LOCK_EX), 0);
  {
    std::ofstream out(live / "metrics.csv", std::ios::binary);
    out << kMetricsHeader << "1,1,2.3,0.1,,100,0.5\n2,1,2.1,0.1,,100,1.0\n3,1,1.9";
  }
  json answer = body_of(get("/api/runs/live-run/metrics"));
  ASSERT_EQ(answer["rows"].size(), 2u) << answer.dump();
  EXPECT_EQ(answer["next"], 2);
  EXPECT_EQ(answer["status"], "running");
  EXPECT_EQ(answer["planned_iterations"], 100);
  EXPECT_NEAR(answer["seconds_left"].get<double>(), 49.0, 1e-9);  // 98 steps at 0.5 s
  {
    std::ofstream out(live / "metrics.csv", std::ios::binary | std::ios::app);
    out << ",0.1,0.3,100,1.5\n";
  }
  answer = body_of(get("/api/runs/live-run/metrics?since=2"));
  ASSERT_EQ(answer["rows"].size(), 1u) << answer.dump();
  EXPECT_EQ(answer["rows"][0]["step"], 3);
  EXPECT_EQ(answer["rows"][0]["validation_accuracy"], 0.3);
  EXPECT_EQ(answer["next"], 3);
  EXPECT_EQ(body_of(get("/api/runs/live-run"))["status"], "running");
  ::close(lock);  // the training process is gone
  EXPECT_EQ(body_of(get("/api/runs/live-run"))["status"], "died");
  EXPECT_EQ(body_of(get("/api/runs/live-run/metrics?since=3"))["status"], "died");
  // A broken line is an error naming the file and line, not a crash.
  {
    std::ofstream out(live / "metrics.csv", std::ios::binary | std::ios::app);
    out << "4,1,oops,0.1,,100,2\n";
  }
  const httplib::Result broken = get("/api/runs/live-run/metrics");
  EXPECT_EQ(broken->status, 500);
  EXPECT_NE(error_of(broken).find("metrics.csv:5:"), std::string::npos) << error_of(broken);
  // Confusion of a run without test predictions yet.
  EXPECT_EQ(get("/api/runs/live-run/confusion")->status, 404);
  fs::remove_all(live);
}

// The lock held by another process: running while it lives, died once it is killed.
TEST_F(ServerTest, ALockHeldByAProcessThatIsKilled) {
  const fs::path live = runs() / "killed-run";
  fs::create_directory(live);
  write_text(live / "run.json", json{{"status", "running"}, {"host", this_host_name()}}.dump());
  write_text(live / "metrics.csv", kMetricsHeader);
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const std::string lock_path = (live / "run.lock").string();
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {  // only async-signal-safe calls here: the parent has threads
    const int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT, 0644);
    if (fd < 0 || ::flock(fd, LOCK_EX) != 0) ::_exit(1);
    const char byte = 1;
    if (::write(ready[1], &byte, 1) != 1) ::_exit(1);
    while (true) ::pause();
  }
  ::close(ready[1]);
  char byte = 0;
  ASSERT_EQ(::read(ready[0], &byte, 1), 1);
  ::close(ready[0]);
  EXPECT_EQ(body_of(get("/api/runs/killed-run"))["status"], "running");
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  EXPECT_EQ(body_of(get("/api/runs/killed-run"))["status"], "died");
  fs::remove_all(live);
}

TEST_F(ServerTest, ConfusionMatrixAndItsCells) {
  const json confusion = body_of(get("/api/runs/" + finished() + "/confusion"));
  ASSERT_EQ(confusion["classes"], 10);
  ASSERT_EQ(confusion["names"].size(), 10u);
  std::vector<std::vector<int>> expected(10, std::vector<int>(10, 0));
  for (std::size_t i = 0; i < labels_->size(); ++i) ++expected[(*labels_)[i]][(*predicted_)[i]];
  EXPECT_EQ(confusion["matrix"].get<std::vector<std::vector<int>>>(), expected);
  // The most populated cell's images.
  int t = 0, p = 0;
  for (int a = 0; a < 10; ++a) {
    for (int b = 0; b < 10; ++b) {
      if (expected[a][b] > expected[t][p]) t = a, p = b;
    }
  }
  const json cell = body_of(get("/api/runs/" + finished() + "/confusion/" + std::to_string(t) +
                                "/" + std::to_string(p) + "?limit=3"));
  EXPECT_EQ(cell["total"], expected[t][p]);
  ASSERT_EQ(cell["images"].size(), std::min(3, expected[t][p]));
  for (const json& image : cell["images"]) {
    const auto index = image["index"].get<std::size_t>();
    EXPECT_EQ((*labels_)[index], t);
    EXPECT_EQ((*predicted_)[index], p);
    ASSERT_EQ(image["probabilities"].size(), 10u);
    double sum = 0;
    for (const json& v : image["probabilities"]) sum += v.get<double>();
    EXPECT_NEAR(sum, 1.0, 1e-4);
    EXPECT_NEAR(image["probabilities"][p].get<double>(), image["confidence"].get<double>(), 1e-4);
  }
  EXPECT_EQ(get("/api/runs/" + finished() + "/confusion/10/0")->status, 404);
  EXPECT_EQ(get("/api/runs/" + finished() + "/confusion/0/0?limit=x")->status, 400);
  EXPECT_EQ(get("/api/runs/old-run/confusion")->status, 404);
}

TEST_F(ServerTest, TestImagesAsPng) {
  const DataSource source = load_data_source(*root_ / "data", DataOptions{});
  for (const std::size_t index : {std::size_t{0}, std::size_t{49}}) {
    const httplib::Result result =
        get("/api/runs/" + finished() + "/test-images/" + std::to_string(index) + ".png");
    ASSERT_EQ(result->status, 200) << result->body;
    EXPECT_EQ(result->get_header_value("Content-Type"), "image/png");
    const Image image = decode_image_natural(
        {reinterpret_cast<const std::uint8_t*>(result->body.data()), result->body.size()}, "png");
    ASSERT_EQ(image.pixels.size(), 784u);
    EXPECT_TRUE(std::equal(image.pixels.begin(), image.pixels.end(), source.test->image(index)));
  }
  EXPECT_EQ(get("/api/runs/" + finished() + "/test-images/50.png")->status, 404);
  const httplib::Result gone = get("/api/runs/moved-data/test-images/0.png");
  EXPECT_EQ(gone->status, 404);
  EXPECT_NE(error_of(gone).find("gone"), std::string::npos) << error_of(gone);
  EXPECT_EQ(get("/api/runs/old-run/test-images/0.png")->status, 404);
}

TEST_F(ServerTest, ModelsFiltersAndFeatures) {
  const json models = body_of(get("/api/models"))["models"];
  ASSERT_EQ(models.size(), 1u) << models.dump();
  EXPECT_EQ(models[0]["id"], finished());
  EXPECT_EQ(models[0]["input"], json({1, 28, 28}));
  EXPECT_EQ(models[0]["classes"], 10);
  EXPECT_EQ(models[0]["names"].size(), 10u);
  const Model model = Model::load(runs() / finished() / "model.safetensors");
  EXPECT_EQ(models[0]["layers"].get<std::vector<std::string>>(), model.layer_names());

  const json filters = body_of(get("/api/models/" + finished() + "/filters"));
  EXPECT_EQ(filters["in"], 1);
  EXPECT_EQ(filters["weights"].size(),
            filters["out"].get<std::size_t>() * filters["in"].get<std::size_t>() *
                filters["kh"].get<std::size_t>() * filters["kw"].get<std::size_t>());
  EXPECT_EQ(get("/api/models/old-run/filters")->status, 404);
  EXPECT_EQ(get("/api/models/no-such/filters")->status, 404);

  const std::string seven = digit_png("7-transparent-background-500x500.png");
  const httplib::Result features = post("/api/models/" + finished() + "/features", seven);
  ASSERT_EQ(features->status, 200) << features->body;
  const json layers = body_of(features)["layers"];
  ASSERT_FALSE(layers.empty());
  for (const json& layer : layers) {
    EXPECT_NE(layer["name"].get<std::string>().find("Conv2D"), std::string::npos);
    EXPECT_EQ(layer["values"].size(), layer["channels"].get<std::size_t>() *
                                          layer["height"].get<std::size_t>() *
                                          layer["width"].get<std::size_t>());
  }
}

TEST_F(ServerTest, PredictsAnUploadAsCnnPredictDoes) {
  const fs::path file =
      fs::path(CNN_SOURCE_DIR) / "tests/fixtures/digits/7-transparent-background-500x500.png";
  const Model model = Model::load(runs() / finished() / "model.safetensors");
  const Predictions expected = model.predict_file(file);
  const Image prepared = model.prepare_file(file);
  const httplib::Result result = post("/api/models/" + finished() + "/predict", read_bytes(file));
  ASSERT_EQ(result->status, 200) << result->body;
  const json answer = body_of(result);
  EXPECT_EQ(answer["predicted"], expected.labels[0]);
  EXPECT_EQ(answer["name"], model.class_names()[expected.labels[0]]);
  ASSERT_EQ(answer["probabilities"].size(), 10u);
  for (std::size_t c = 0; c < 10; ++c) {
    EXPECT_NEAR(answer["probabilities"][c].get<double>(), expected.probabilities[c], 1e-5);
  }
  EXPECT_EQ(answer["names"].size(), 10u);
  EXPECT_EQ(answer["prepared"]["width"], 28);
  EXPECT_EQ(answer["prepared"]["height"], 28);
  EXPECT_EQ(answer["prepared"]["channels"], 1);
  EXPECT_EQ(answer["prepared"]["pixels"].get<std::vector<std::uint8_t>>(), prepared.pixels);
  EXPECT_EQ(post("/api/models/no-such-run/predict", read_bytes(file))->status, 404);
}

TEST_F(ServerTest, BadUploadsGetTheLoadersMessage) {
  const std::string url = "/api/models/" + finished() + "/predict";
  const httplib::Result garbage = post(url, "this is not an image");
  EXPECT_EQ(garbage->status, 400);
  EXPECT_NE(error_of(garbage).find("upload: not a PNG, JPEG"), std::string::npos)
      << error_of(garbage);
  const std::string png = digit_png("7-transparent-background-500x500.png");
  const httplib::Result cut = post(url, png.substr(0, png.size() / 2));
  EXPECT_EQ(cut->status, 400);
  EXPECT_NE(error_of(cut).find("upload"), std::string::npos) << error_of(cut);
  EXPECT_EQ(post(url, "")->status, 400);
  // Blank paper: no digit, the preparation's message.
  const httplib::Result blank =
      post(url, encode_png(Image{1, 50, 50, std::vector<std::uint8_t>(2500, 255)}));
  EXPECT_EQ(blank->status, 400);
  EXPECT_NE(error_of(blank).find("upload"), std::string::npos) << error_of(blank);
  // Too many pixels: refused from the header, before decoding.
  const httplib::Result wide =
      post(url, encode_png(Image{1, 2, 5000, std::vector<std::uint8_t>(10000, 255)}));
  EXPECT_EQ(wide->status, 413);
  EXPECT_NE(error_of(wide).find("5000x2"), std::string::npos) << error_of(wide);
  EXPECT_EQ(post("/api/models/" + finished() + "/features",
                 encode_png(Image{1, 4097, 1, std::vector<std::uint8_t>(4097, 0)}))
                ->status,
            413);
  // Over 4 MiB: 413 before the body is read.
  const httplib::Result big = post(url, std::string((4 << 20) + 1, 'x'));
  ASSERT_TRUE(big);
  EXPECT_EQ(big->status, 413);
  EXPECT_NE(error_of(big).find("4 MiB"), std::string::npos) << error_of(big);
  // The server is still well.
  EXPECT_EQ(get("/api/runs")->status, 200);
}

TEST_F(ServerTest, FiftyClientsAtOnceTenFollowingARun) {
  std::atomic<int> answered{0}, failed{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < 50; ++i) {
    clients.emplace_back([&, i] {
      httplib::Client c = client();
      for (int request = 0; request < 5; ++request) {
        const std::string path =
            i < 10  ? "/api/runs/" + finished() + "/metrics?since=" + std::to_string(request)
            : i % 2 ? "/api/runs"
                    : "/api/runs/" + finished() + "/confusion";
        const httplib::Result result = c.Get(path.c_str());
        if (result && result->status == 200) {
          ++answered;
        } else {
          ++failed;
        }
      }
    });
  }
  for (std::thread& t : clients) t.join();
  EXPECT_EQ(answered.load(), 250);
  EXPECT_EQ(failed.load(), 0);
}

TEST_F(ServerTest, ConcurrentPredictionsEqualALoneOne) {
  const std::string url = "/api/models/" + finished() + "/predict";
  const std::vector<std::string> images = {digit_png("7-transparent-background-500x500.png"),
                                           digit_png("0-black-on-white-300x300.png"),
                                           digit_png("3-small-64x64.pgm")};
  std::vector<std::string> alone;
  for (const std::string& image : images) alone.push_back(post(url, image)->body);
  std::atomic<int> same{0}, different{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < 12; ++i) {
    clients.emplace_back([&, i] {
      for (int request = 0; request < 3; ++request) {
        const std::size_t which = static_cast<std::size_t>(i + request) % images.size();
        const httplib::Result result = post(url, images[which]);
        if (result && result->status == 200 && result->body == alone[which]) {
          ++same;
        } else {
          ++different;
        }
      }
    });
  }
  for (std::thread& t : clients) t.join();
  EXPECT_EQ(same.load(), 36);
  EXPECT_EQ(different.load(), 0);
}

TEST_F(ServerTest, NeverWritesInTheRunsFolder) {
  const std::map<std::string, std::string> before = snapshot(runs());
  const std::string seven = digit_png("7-transparent-background-500x500.png");
  for (const std::string& path : std::vector<std::string>{
           "/api/runs", "/api/runs/" + finished(), "/api/runs/" + finished() + "/metrics",
           "/api/runs/" + finished() + "/confusion", "/api/runs/" + finished() + "/confusion/1/1",
           "/api/runs/" + finished() + "/test-images/3.png", "/api/models",
           "/api/models/" + finished() + "/filters", "/api/runs/old-run",
           "/api/runs/old-run/metrics", "/api/runs/escape", "/api/runs/%2e%2e",
           "/api/runs/moved-data/test-images/1.png", "/"}) {
    ASSERT_TRUE(get(path)) << path;
  }
  ASSERT_TRUE(post("/api/models/" + finished() + "/predict", seven));
  ASSERT_TRUE(post("/api/models/" + finished() + "/features", seven));
  ASSERT_TRUE(post("/api/models/" + finished() + "/predict", "broken"));
  EXPECT_EQ(snapshot(runs()), before);
}

// More models than the server keeps loaded (16): listed all, each still answers (loaded again
// when it was evicted), and a model file that changes is loaded anew.
TEST_F(ServerTest, MoreModelsThanTheCacheHolds) {
  std::vector<std::string> ids;
  for (int i = 0; i < 18; ++i) {
    const std::string id = "many-" + std::to_string(i);
    fs::create_directory(runs() / id);
    Model::create("seed", Shape{1, 28, 28}, 10, static_cast<std::uint64_t>(i + 1))
        .save(runs() / id / "model.safetensors");
    ids.push_back(id);
  }
  EXPECT_EQ(body_of(get("/api/models"))["models"].size(), 19u);
  const std::string seven = digit_png("7-transparent-background-500x500.png");
  std::map<std::string, std::string> first;
  for (const std::string& id : ids) {
    const httplib::Result result = post("/api/models/" + id + "/predict", seven);
    ASSERT_EQ(result->status, 200) << id << ": " << result->body;
    first[id] = result->body;
  }
  for (const std::string& id : ids) {  // the first ones were evicted: loaded again, same answers
    EXPECT_EQ(post("/api/models/" + id + "/predict", seven)->body, first[id]) << id;
  }
  // A model replaced (a run that ends writes its model): the new one answers.
  const Model replacement = Model::create("lenet5", Shape{1, 28, 28}, 10, 99);
  ASSERT_NE(replacement.layer_names(),
            Model::load(runs() / ids[0] / "model.safetensors").layer_names());
  replacement.save(runs() / ids[0] / "model.safetensors");
  bool seen = false;
  const json listed = body_of(get("/api/models"));
  for (const json& model : listed["models"]) {
    if (model["id"] != ids[0]) continue;
    seen = true;
    EXPECT_EQ(model["layers"].get<std::vector<std::string>>(), replacement.layer_names());
  }
  EXPECT_TRUE(seen) << listed.dump();
  for (const std::string& id : ids) fs::remove_all(runs() / id);
}

TEST(ServerStart, ClearErrors) {
  ServeOptions options;
  options.port = 0;
  const fs::path file = fs::temp_directory_path() / ("cnn-serve-file-" + std::to_string(getpid()));
  write_text(file, "x");
  options.runs = file;
  EXPECT_THROW(Server{options}, ServeError);
  options.runs = fs::temp_directory_path();
  options.model = file;
  EXPECT_THROW(Server{options}, ModelFileError);
  fs::remove(file);
  // A port in use.
  options.model.clear();
  Server first(options);
  options.port = first.port();
  try {
    Server second(options);
    FAIL() << "a second server on port " << options.port;
  } catch (const ServeError& e) {
    EXPECT_NE(std::string(e.what()).find(std::to_string(options.port)), std::string::npos);
  }
}

TEST(ServerStart, TheDefaultModelFromAFile) {
  const fs::path dir = fs::temp_directory_path() / ("cnn-serve-model-" + std::to_string(getpid()));
  fs::create_directories(dir / "runs");
  Model::create("lenet5", Shape{1, 28, 28}, 10, 3).save(dir / "m.safetensors");
  ServeOptions options;
  options.port = 0;
  options.runs = dir / "runs";
  options.model = dir / "m.safetensors";
  options.token = kToken;
  Server server(options);
  std::thread thread([&] { server.run(); });
  for (int i = 0; i < 500 && !server.running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  httplib::Client c("127.0.0.1", server.port());
  c.set_default_headers({{"Authorization", std::string("Bearer ") + kToken}});
  const json models = json::parse(c.Get("/api/models")->body)["models"];
  ASSERT_EQ(models.size(), 1u);
  EXPECT_EQ(models[0]["id"], "default");
  EXPECT_EQ(models[0]["name"], "m.safetensors");
  const httplib::Result predicted = c.Post(
      "/api/models/default/predict",
      read_bytes(fs::path(CNN_SOURCE_DIR) / "tests/fixtures/digits/8-black-on-white-200x200.png"),
      "image/png");
  EXPECT_EQ(predicted->status, 200) << predicted->body;
  server.stop();
  thread.join();
  fs::remove_all(dir);
}

}  // namespace
}  // namespace cnn::serve
