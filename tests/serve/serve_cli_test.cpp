// `cnn serve` as a user starts it: the address line, Ctrl-C and SIGTERM ending it cleanly (exit
// 0), the warning for an address other machines reach, and bad flags (exit 2).
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>

#include <chrono>
#include <thread>

#include "cli_runner.hpp"
#include "temp_dir.hpp"

namespace cnn::testing {
namespace {

namespace fs = std::filesystem;

// The port and token of the line "cnn serve: http://HOST:PORT/?token=T" (T: 32 hex digits) in
// text; false until the whole line is there. (Not std::regex: GCC 12 warns falsely inside <regex>
// in sanitizer builds.)
bool parse_url_line(const std::string& text, int& port, std::string& token) {
  const std::size_t start = text.find("cnn serve: http://");
  if (start == std::string::npos) return false;
  const std::size_t end = text.find('\n', start);
  if (end == std::string::npos) return false;
  const std::string line = text.substr(start, end - start);
  const std::size_t colon = line.find(':', std::string("cnn serve: http://").size());
  const std::size_t slash = line.find("/?token=");
  if (colon == std::string::npos || slash == std::string::npos || slash < colon + 2) return false;
  const std::string digits = line.substr(colon + 1, slash - colon - 1);
  token = line.substr(slash + 8);
  if (digits.find_first_not_of("0123456789") != std::string::npos || token.size() != 32 ||
      token.find_first_not_of("0123456789abcdef") != std::string::npos) {
    return false;
  }
  port = std::stoi(digits);
  return true;
}

class ServeCliTest : public TempDirTest {
 protected:
  ServeCliTest() : TempDirTest("cnn-serve-cli") {}

  // Waits for the address line on stdout (of the process started with `tag`); false after 20 s.
  bool wait_for_url(CliProcess& process, int& port, std::string& token,
                    const std::string& tag = "") {
    for (int i = 0; i < 2000 && process.running(); ++i) {
      if (parse_url_line(read_text(dir_ / ("stdout" + tag + ".txt")), port, token)) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }
};

TEST_F(ServeCliTest, PrintsTheAddressAndStopsOnCtrlC) {
  for (const int signal : {SIGINT, SIGTERM}) {
    fs::create_directories(dir_ / "runs");
    CliProcess serve({"serve", "--port", "0", "--runs", (dir_ / "runs").string()}, dir_);
    int port = 0;
    std::string token;
    ASSERT_TRUE(wait_for_url(serve, port, token)) << serve.wait();
    httplib::Client client("127.0.0.1", port);
    client.set_default_headers({{"Authorization", "Bearer " + token}});
    const httplib::Result runs = client.Get("/api/runs");
    ASSERT_TRUE(runs);
    EXPECT_EQ(runs->status, 200);
    EXPECT_EQ(runs->body, R"({"runs":[]})");
    EXPECT_EQ(client.Get("/api/runs", httplib::Headers{{"Authorization", "Bearer x"}})->status,
              403);
    serve.send(signal);
    const CliResult result = serve.wait();
    EXPECT_EQ(result.status, 0) << result;
    EXPECT_EQ(result.signal, 0) << result;
    EXPECT_NE(result.out.find("cnn serve: stopped"), std::string::npos) << result;
    EXPECT_EQ(result.err, "") << result;
  }
}

TEST_F(ServeCliTest, WarnsWhenOtherMachinesCanConnect) {
  CliProcess serve({"serve", "--port", "0", "--host", "0.0.0.0", "--runs", dir_.string()}, dir_);
  int port = 0;
  std::string token;
  ASSERT_TRUE(wait_for_url(serve, port, token)) << serve.wait();
  serve.send(SIGINT);
  const CliResult result = serve.wait();
  EXPECT_EQ(result.status, 0) << result;
  EXPECT_NE(result.err.find("warning: listening on 0.0.0.0: anyone on the network"),
            std::string::npos)
      << result;
  // The address printed is one a browser on this machine opens.
  EXPECT_NE(result.out.find("cnn serve: http://127.0.0.1:" + std::to_string(port) + "/?token="),
            std::string::npos)
      << result;
}

TEST_F(ServeCliTest, BadFlagsExit2) {
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"serve", "--port", "70000"},
                                             {"serve", "--port", "abc"},
                                             {"serve", "--port", "-1"},
                                             {"serve", "--prot", "8008"},
                                             {"serve", "--runs"}}) {
    const CliResult result = run_cli(args, dir_);
    EXPECT_EQ(result.status, 2) << args[1] << " " << (args.size() > 2 ? args[2] : "") << result;
    EXPECT_NE(result.err.find("cnn: error:"), std::string::npos) << result;
  }
  // --runs naming a file.
  {
    std::ofstream(dir_ / "file") << "x";
    const CliResult result = run_cli({"serve", "--port", "0", "--runs", "file"}, dir_);
    EXPECT_EQ(result.status, 2) << result;
    EXPECT_NE(result.err.find("'file' is a file"), std::string::npos) << result;
  }
  // A missing model file is named.
  {
    const CliResult result =
        run_cli({"serve", "--port", "0", "--model", "missing.safetensors"}, dir_);
    EXPECT_EQ(result.status, 1) << result;
    EXPECT_NE(result.err.find("missing.safetensors"), std::string::npos) << result;
  }
}

TEST_F(ServeCliTest, APortInUseIsAUsageError) {
  CliProcess first({"serve", "--port", "0", "--runs", dir_.string()}, dir_, "-first");
  int port = 0;
  std::string token;
  ASSERT_TRUE(wait_for_url(first, port, token, "-first")) << first.wait();
  const CliResult second = run_cli({"serve", "--port", std::to_string(port)}, dir_);
  EXPECT_EQ(second.status, 2) << second;
  EXPECT_NE(second.err.find("cannot listen on 127.0.0.1:" + std::to_string(port)),
            std::string::npos)
      << second;
  first.send(SIGINT);
  EXPECT_EQ(first.wait().status, 0);
}

}  // namespace
}  // namespace cnn::testing
