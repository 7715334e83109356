// `cnn serve` exists in every build: with the web server (CNN_WITH_SERVE, the cnn_serve
// component; tests/serve/ test it in full) it checks its flags, without it it says how to get it.
#include <gtest/gtest.h>

#include "cli_runner.hpp"
#include "temp_dir.hpp"

namespace cnn::testing {
namespace {

class ServeCommandTest : public TempDirTest {
 protected:
  ServeCommandTest() : TempDirTest("cnn-serve-command") {}
};

TEST_F(ServeCommandTest, ListedInHelp) {
  const CliResult help = run_cli({"--help"}, dir_);
  EXPECT_EQ(help.status, 0) << help;
  EXPECT_NE(help.out.find("serve"), std::string::npos) << help;
}

#ifdef CNN_WITH_SERVE
TEST_F(ServeCommandTest, ABadPortIsAUsageError) {
  const CliResult result = run_cli({"serve", "--port", "70000"}, dir_);
  EXPECT_EQ(result.status, 2) << result;
  EXPECT_NE(result.err.find("--port"), std::string::npos) << result;
}
#else
TEST_F(ServeCommandTest, SaysHowToGetTheServer) {
  const CliResult result = run_cli({"serve"}, dir_);
  EXPECT_EQ(result.status, 2) << result;
  EXPECT_NE(result.err.find("no web server: install cpp-httplib"), std::string::npos) << result;
  EXPECT_NE(result.err.find("libcpp-httplib-dev"), std::string::npos) << result;
}
#endif

}  // namespace
}  // namespace cnn::testing
