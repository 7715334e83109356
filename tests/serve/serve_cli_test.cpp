// `cnn serve` as a user starts it: the address line, Ctrl-C and SIGTERM ending it cleanly (exit
// 0), the warning for an address other machines reach, and bad flags (exit 2).
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>

#include <chrono>
#include <regex>
#include <thread>

#include "cli_runner.hpp"
#include "temp_dir.hpp"

namespace cnn::testing {
namespace {

namespace fs = std::filesystem;

class ServeCliTest : public TempDirTest {
 protected:
  ServeCliTest() : TempDirTest("cnn-serve-cli") {}

  // Waits for the line "cnn serve: http://HOST:PORT/?token=T" on stdout; false after 20 s.
  bool wait_for_url(CliProcess& process, int& port, std::string& token) {
    static const std::regex kLine(R"(cnn serve: http://[^:]+:(\d+)/\?token=([0-9a-f]{32})\n)");
    for (int i = 0; i < 2000 && process.running(); ++i) {
      const std::string out = read_text(dir_ / "stdout.txt");
      std::smatch match;
      if (std::regex_search(out, match, kLine)) {
        port = std::stoi(match[1].str());
        token = match[2].str();
        return true;
      }
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
  // wait_for_url reads stdout.txt; this process writes stdout-first.txt.
  for (int i = 0; i < 2000 && port == 0; ++i) {
    const std::string out = read_text(dir_ / "stdout-first.txt");
    std::smatch match;
    static const std::regex kPort(R"(http://127\.0\.0\.1:(\d+)/)");
    if (std::regex_search(out, match, kPort)) port = std::stoi(match[1].str());
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_NE(port, 0) << first.wait();
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
