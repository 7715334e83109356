// The pure parts of cnn serve: the request checks (serve/request_checks.hpp), the readers of a
// run folder's files while they are written (serve/run_files.hpp) and the image helpers
// (serve/image_bytes.hpp).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <set>

#include "cnn/data/idx.hpp"
#include "image_bytes.hpp"
#include "request_checks.hpp"
#include "run_files.hpp"
#include "temp_dir.hpp"

namespace cnn::serve {
namespace {

namespace fs = std::filesystem;

TEST(RandomToken, Is32HexDigitsAndDiffers) {
  const std::string a = random_token(), b = random_token();
  EXPECT_EQ(a.size(), 32u);
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef"), std::string::npos) << a;
  EXPECT_NE(a, b);
}

TEST(TokensEqual, ComparesWholeTokens) {
  EXPECT_TRUE(tokens_equal("abc", "abc"));
  EXPECT_FALSE(tokens_equal("abd", "abc"));
  EXPECT_FALSE(tokens_equal("ab", "abc"));
  EXPECT_FALSE(tokens_equal("abcd", "abc"));
  EXPECT_FALSE(tokens_equal("", "abc"));
}

TEST(CookieValue, FindsTheNamedCookie) {
  EXPECT_EQ(cookie_value("a=1; cnn_token=xyz; b=2", "cnn_token"), "xyz");
  EXPECT_EQ(cookie_value("cnn_token=xyz", "cnn_token"), "xyz");
  EXPECT_EQ(cookie_value("xcnn_token=xyz", "cnn_token"), "");
  EXPECT_EQ(cookie_value("", "cnn_token"), "");
  EXPECT_EQ(cookie_value(";;=;cnn_token", "cnn_token"), "");
}

TEST(BearerToken, ReadsTheBearerScheme) {
  EXPECT_EQ(bearer_token("Bearer abc"), "abc");
  EXPECT_EQ(bearer_token("bearer  abc "), "abc");
  EXPECT_EQ(bearer_token("Basic abc"), "");
  EXPECT_EQ(bearer_token("Bearer"), "");
  EXPECT_EQ(bearer_token(""), "");
}

TEST(LoopbackHost, KnowsLoopbackAddresses) {
  EXPECT_TRUE(is_loopback_host("127.0.0.1"));
  EXPECT_TRUE(is_loopback_host("127.1.2.3"));
  EXPECT_TRUE(is_loopback_host("localhost"));
  EXPECT_TRUE(is_loopback_host("::1"));
  EXPECT_FALSE(is_loopback_host("0.0.0.0"));
  EXPECT_FALSE(is_loopback_host("127.0.0.1.evil.com"));
  EXPECT_FALSE(is_loopback_host("127.0.0"));
  EXPECT_FALSE(is_loopback_host("192.168.1.2"));
  EXPECT_FALSE(is_loopback_host("::"));
}

TEST(HostAllowed, OnlyNamesOfThisServer) {
  EXPECT_TRUE(host_allowed("127.0.0.1:8008", 8008, "127.0.0.1"));
  EXPECT_TRUE(host_allowed("localhost:8008", 8008, "127.0.0.1"));
  EXPECT_TRUE(host_allowed("[::1]:8008", 8008, "127.0.0.1"));
  EXPECT_FALSE(host_allowed("127.0.0.1:8009", 8008, "127.0.0.1"));
  EXPECT_FALSE(host_allowed("127.0.0.1", 8008, "127.0.0.1"));
  EXPECT_FALSE(host_allowed("evil.example:8008", 8008, "127.0.0.1"));
  EXPECT_FALSE(host_allowed("", 8008, "127.0.0.1"));
  // DNS rebinding: a name that resolves to us is still not ours.
  EXPECT_FALSE(host_allowed("attacker.example:8008", 8008, "0.0.0.0"));
  EXPECT_FALSE(host_allowed("0.0.0.0:8008", 8008, "0.0.0.0"));
  EXPECT_TRUE(host_allowed("192.168.1.5:8008", 8008, "192.168.1.5"));
  EXPECT_TRUE(host_allowed("[fe80::1]:8008", 8008, "fe80::1"));
  EXPECT_FALSE(host_allowed("fe80::1:8008", 8008, "fe80::1"));
}

TEST(RunId, RefusesEverythingButAPlainFolderName) {
  EXPECT_TRUE(valid_run_id("20261206-025340-lenet5"));
  EXPECT_TRUE(valid_run_id("my run"));
  for (const std::string& bad : std::vector<std::string>{
           "", ".", "..", ".hidden", "a/b", "/etc", "a\\b", std::string(256, 'a'),
           std::string("a\0b", 3), std::string("a\nb")}) {
    EXPECT_FALSE(valid_run_id(bad)) << bad;
  }
}

class RunFolderTest : public cnn::testing::TempDirTest {
 protected:
  RunFolderTest() : TempDirTest("cnn-serve-runfolder") {}
};

TEST_F(RunFolderTest, StaysInsideTheRunsFolder) {
  const fs::path root = fs::canonical(dir_);
  fs::create_directory(root / "runs");
  fs::create_directory(root / "runs" / "a");
  fs::create_directory(root / "outside");
  fs::create_directory_symlink(root / "outside", root / "runs" / "escape");
  fs::create_directory_symlink(root / "runs" / "a", root / "runs" / "alias");
  const fs::path runs = root / "runs";
  EXPECT_EQ(run_folder(runs, "a"), runs / "a");
  EXPECT_EQ(run_folder(runs, "alias"), runs / "a");  // a link that stays inside is followed
  EXPECT_EQ(run_folder(runs, "escape"), std::nullopt);
  EXPECT_EQ(run_folder(runs, ".."), std::nullopt);
  EXPECT_EQ(run_folder(runs, "../outside"), std::nullopt);
  EXPECT_EQ(run_folder(runs, (root / "outside").string()), std::nullopt);
  EXPECT_EQ(run_folder(runs, "missing"), runs / "missing");  // existence is the caller's check
}

TEST(ParseCount, DigitsWithinBounds) {
  EXPECT_EQ(parse_count("0", 10), 0u);
  EXPECT_EQ(parse_count("10", 10), 10u);
  EXPECT_EQ(parse_count("11", 10), std::nullopt);
  EXPECT_EQ(parse_count("", 10), std::nullopt);
  EXPECT_EQ(parse_count("-1", 10), std::nullopt);
  EXPECT_EQ(parse_count("1e3", 10000), std::nullopt);
  EXPECT_EQ(parse_count(" 1", 10), std::nullopt);
  EXPECT_EQ(parse_count("99999999999999999999999", SIZE_MAX), std::nullopt);
}

TEST(WebFileName, MapsPathsToEmbeddedNames) {
  EXPECT_EQ(web_file_name("/"), "index.html");
  EXPECT_EQ(web_file_name("/app.js"), "app.js");
  EXPECT_EQ(web_file_name("/img/a.png"), "img/a.png");
  for (const char* bad :
       {"", "app.js", "/../x", "/a/../b", "//etc/passwd", "/.git/config", "/a\\b", "/a%2e"}) {
    EXPECT_EQ(web_file_name(bad), std::nullopt) << bad;
  }
}

constexpr const char* kHeader =
    "step,epoch,loss,learning_rate,validation_accuracy,images_per_second,wall_seconds\n";

TEST(MetricsLines, LeavesAHalfWrittenLineForLater) {
  const std::string whole =
      std::string(kHeader) + "1,1,2.5,0.01,,100,0.1\n2,1,2.0,0.01,0.5,110,0.2\n";
  std::vector<MetricsRow> rows = parse_metrics_lines(whole + "3,1,1.", 0, "m.csv");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].step, 1u);
  EXPECT_FALSE(rows[0].validation_accuracy.has_value());
  EXPECT_DOUBLE_EQ(*rows[1].validation_accuracy, 0.5);
  rows = parse_metrics_lines(whole + "3,1,1.5,0.01,,120,0.3\n", 2, "m.csv");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].step, 3u);
  EXPECT_DOUBLE_EQ(rows[0].loss, 1.5);
  EXPECT_TRUE(parse_metrics_lines("", 0, "m.csv").empty());
  EXPECT_TRUE(parse_metrics_lines("step,epo", 0, "m.csv").empty());
  EXPECT_TRUE(parse_metrics_lines(kHeader, 0, "m.csv").empty());
}

TEST(MetricsLines, BrokenLinesNameFileAndLine) {
  try {
    parse_metrics_lines(std::string(kHeader) + "1,1,2.5,0.01,,100,0.1\n2,1,x,0.01,,1,1\n", 0,
                        "m.csv");
    FAIL() << "no error";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("m.csv:3:"), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse_metrics_lines("a,b\n", 0, "m.csv"), DataError);
  EXPECT_THROW(parse_metrics_lines(std::string(kHeader) + "1,1,2\n", 0, "m.csv"), DataError);
  EXPECT_THROW(parse_metrics_lines(std::string(kHeader) + "1,1,nan,0,,1,1\n", 0, "m.csv"),
               DataError);
}

TEST(Predictions, ReadsBothFormats) {
  const PredictionsTable table = parse_predictions(
      "index,label,predicted,confidence,logit_0,logit_1\n0,1,1,0.9,-1,2\n1,0,1,0.6,0.5,1\n",
      "p.csv");
  EXPECT_EQ(table.classes, 2u);
  EXPECT_EQ(table.labels, (std::vector<std::int32_t>{1, 0}));
  EXPECT_EQ(table.predicted, (std::vector<std::int32_t>{1, 1}));
  EXPECT_EQ(table.logits, (std::vector<float>{-1, 2, 0.5f, 1}));
  const PredictionsTable old =
      parse_predictions("index,label,predicted,confidence\n0,3,2,0.5\n", "p.csv");
  EXPECT_EQ(old.classes, 0u);
  EXPECT_EQ(old.labels, (std::vector<std::int32_t>{3}));
}

TEST(Predictions, BrokenFilesNameFileAndLine) {
  EXPECT_THROW(parse_predictions("", "p.csv"), DataError);
  EXPECT_THROW(parse_predictions("a,b,c,d\n", "p.csv"), DataError);
  EXPECT_THROW(parse_predictions("index,label,predicted,confidence\n0,-1,2,0.5\n", "p.csv"),
               DataError);
  EXPECT_THROW(parse_predictions("index,label,predicted,confidence\n0,1,2\n", "p.csv"), DataError);
  try {
    parse_predictions("index,label,predicted,confidence,logit_0\n0,0,0,1,x\n", "p.csv");
    FAIL() << "no error";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("p.csv:2:"), std::string::npos) << e.what();
  }
}

TEST(Settings, FromTheRecordedCommandLine) {
  const nlohmann::json settings = settings_from_command(
      "cnn train --data data/mnist --preset lenet5 --lr 0.05 --no-test --seed=3 --decay -1e-5 "
      "--architecture 'conv(8,3) relu '\\''x'\\''' --out \"a b\"");
  EXPECT_EQ(settings["data"], "data/mnist");
  EXPECT_EQ(settings["preset"], "lenet5");
  EXPECT_EQ(settings["lr"], "0.05");
  EXPECT_EQ(settings["no-test"], true);
  EXPECT_EQ(settings["seed"], "3");
  EXPECT_EQ(settings["decay"], "-1e-5");
  EXPECT_EQ(settings["architecture"], "conv(8,3) relu 'x'");
  EXPECT_EQ(settings["out"], "a b");
  EXPECT_FALSE(settings.contains("train"));
  EXPECT_TRUE(settings_from_command("").empty());
  EXPECT_TRUE(settings_from_command("'unterminated --x").is_object());
  // "--" (the end of the flags) and "---" are no flags' names (found by the fuzz target).
  EXPECT_EQ(settings_from_command("cnn train -- --- --a 1"), nlohmann::json({{"a", "1"}}));
}

class RunStatusTest : public cnn::testing::TempDirTest {
 protected:
  RunStatusTest() : TempDirTest("cnn-serve-status") {}
};

TEST_F(RunStatusTest, TheLockTellsRunningFromDied) {
  const nlohmann::json running = {{"status", "running"}, {"host", this_host_name()}};
  std::ofstream(dir_ / "metrics.csv") << kHeader;
  const int fd = ::open((dir_ / "run.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX), 0);
  // flock locks belong to open file descriptions: the reader's own open() conflicts with ours.
  EXPECT_EQ(run_status(dir_, running), "running");
  ::close(fd);
  EXPECT_EQ(run_status(dir_, running), "died");
  // A lock on another host cannot be seen: judged by the age of the metrics.
  const nlohmann::json elsewhere = {{"status", "running"}, {"host", "another-machine"}};
  EXPECT_EQ(run_status(dir_, elsewhere), "running");
}

TEST_F(RunStatusTest, WithoutALockTheAgeOfTheMetricsDecides) {
  const nlohmann::json running = {{"status", "running"}};
  std::ofstream(dir_ / "metrics.csv") << kHeader;
  EXPECT_EQ(run_status(dir_, running), "running");
  fs::last_write_time(dir_ / "metrics.csv",
                      fs::file_time_type::clock::now() - std::chrono::hours(1));
  EXPECT_EQ(run_status(dir_, running), "died");
  EXPECT_FALSE(fs::exists(dir_ / "run.lock"));  // the reader created nothing
}

TEST_F(RunStatusTest, OtherStatusesAsRecorded) {
  EXPECT_EQ(run_status(dir_, nullptr), "unknown");
  EXPECT_EQ(run_status(dir_, {{"status", "finished"}}), "finished");
  EXPECT_EQ(run_status(dir_, {{"status", "interrupted"}}), "interrupted");
  EXPECT_EQ(run_status(dir_, {{"status", "diverged"}}), "diverged");
  EXPECT_EQ(run_status(dir_, {{"status", "failed"}}), "failed");
  EXPECT_EQ(run_status(dir_, {{"status", "weird"}}), "unknown");
  EXPECT_EQ(run_status(dir_, {{"status", 3}}), "unknown");
}

TEST(DeclaredImageSize, ReadsHeadersOnly) {
  const Image wide{1, 3, 5000, std::vector<std::uint8_t>(15000, 200)};
  const std::string png = encode_png(wide);
  const std::span<const std::uint8_t> bytes(reinterpret_cast<const std::uint8_t*>(png.data()),
                                            png.size());
  ASSERT_TRUE(declared_image_size(bytes).has_value());
  EXPECT_EQ(declared_image_size(bytes)->width, 5000u);
  EXPECT_EQ(declared_image_size(bytes)->height, 3u);
  // Cut short: no size, never a read past the end.
  for (std::size_t cut = 0; cut < 24; ++cut) {
    EXPECT_FALSE(declared_image_size(bytes.first(cut)).has_value()) << cut;
  }
  const std::string pgm = "P5\n# comment\n640 480\n255\n";
  const auto size =
      declared_image_size({reinterpret_cast<const std::uint8_t*>(pgm.data()), pgm.size()});
  ASSERT_TRUE(size.has_value());
  EXPECT_EQ(size->width, 640u);
  EXPECT_EQ(size->height, 480u);
  const std::uint8_t jpeg[] = {0xff, 0xd8, 0xff, 0xe0, 0x00, 0x04, 0x00, 0x00, 0xff, 0xc0, 0x00,
                               0x0b, 0x08, 0x01, 0x02, 0x03, 0x04, 0x01, 0x01, 0x11, 0x00};
  const auto jpeg_size = declared_image_size(jpeg);
  ASSERT_TRUE(jpeg_size.has_value());
  EXPECT_EQ(jpeg_size->height, 0x0102u);
  EXPECT_EQ(jpeg_size->width, 0x0304u);
  EXPECT_FALSE(declared_image_size(std::span<const std::uint8_t>()).has_value());
}

TEST(EncodePng, RoundTripsThroughTheImageLoader) {
  Image rgb{3, 4, 5, {}};
  for (std::size_t i = 0; i < 3 * 4 * 5; ++i)
    rgb.pixels.push_back(static_cast<std::uint8_t>(i * 4));
  for (const Image& image : {rgb, Image{1, 2, 3, {0, 50, 100, 150, 200, 250}}}) {
    const std::string png = encode_png(image);
    const Image back = decode_image_natural(
        {reinterpret_cast<const std::uint8_t*>(png.data()), png.size()}, "png");
    EXPECT_EQ(back.channels, image.channels);
    EXPECT_EQ(back.height, image.height);
    EXPECT_EQ(back.width, image.width);
    EXPECT_EQ(back.pixels, image.pixels);
  }
  EXPECT_THROW(encode_png(Image{2, 1, 1, {0, 0}}), std::invalid_argument);
}

}  // namespace
}  // namespace cnn::serve
