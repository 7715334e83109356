// cnn serve: the runs, live training curves and a drawing canvas in the browser (docs/serve.md).
// Only in a build with the cnn_serve component (CNN_WITH_SERVE); without it the command still
// exists and says how to get it, as `cnn export` does for ONNX.
#include <cstdio>
#include <memory>
#include <string>

#include "commands.hpp"
#include "options.hpp"
#ifdef CNN_WITH_SERVE
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "request_checks.hpp"
#include "server.hpp"
#endif

namespace cnn::cli {

namespace {

struct ServeArgs {
  std::string runs = "runs";
  std::string model;
  int port = 8008;
  std::string host = "127.0.0.1";
};

int run_serve(const ServeArgs& args) {
#ifdef CNN_WITH_SERVE
  // Ctrl-C and SIGTERM are taken by a thread of ours with sigwait, not by a handler: the server's
  // stop() is not async-signal-safe. Blocked here, before any thread starts, so that every thread
  // (the server's pool, the library's) inherits the mask and only sigwait receives them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  serve::ServeOptions options;
  options.runs = args.runs;
  options.model = args.model;
  options.port = args.port;
  options.host = args.host;
  std::unique_ptr<serve::Server> server;
  try {
    server = std::make_unique<serve::Server>(options);
  } catch (const serve::ServeError& e) {
    throw UsageError(e.what());
  }
  if (!serve::is_loopback_host(args.host)) {
    std::fprintf(stderr,
                 "cnn serve: warning: listening on %s: anyone on the network who can reach this "
                 "machine can connect (the token still guards the runs); use --host 127.0.0.1 to "
                 "serve this machine only\n",
                 args.host.c_str());
  }
  std::printf("cnn serve: %s\n", server->url().c_str());
  std::printf("cnn serve: serving the runs of '%s'%s%s; Ctrl-C stops\n", args.runs.c_str(),
              args.model.empty() ? "" : " and the model ", args.model.c_str());
  std::fflush(stdout);

  std::atomic<bool> finished{false};
  std::atomic<int> received{0};
  std::thread watcher([&] {
    int signal_number = 0;
    sigwait(&stop_signals, &signal_number);
    received.store(signal_number);
    // stop() before run() has started listening would be lost: repeat until run() returns.
    while (!finished.load()) {
      server->stop();
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  const bool served = server->run();
  finished.store(true);
  if (received.load() == 0) pthread_kill(watcher.native_handle(), SIGTERM);  // wake it to end
  watcher.join();
  if (!served && received.load() == 0) {
    std::fprintf(stderr, "cnn: error: the server stopped: it could not accept connections\n");
    return 1;
  }
  std::printf("cnn serve: stopped\n");
  return 0;
#else
  (void)args;
  throw UsageError(
      "this build of cnn has no web server: install cpp-httplib (Debian: apt-get install "
      "libcpp-httplib-dev) and rebuild (CMake option CNN_SERVE=AUTO or ON)");
#endif
}

}  // namespace

Command add_serve_command(CLI::App& app) {
  auto args = std::make_shared<ServeArgs>();
  CLI::App* cmd = app.add_subcommand(
      "serve",
      "Show the runs, live training curves and a drawing canvas in the browser (a local web "
      "page with an access token)");
  cmd->add_option("--runs", args->runs, "The runs folder (run folders of 'cnn train')")
      ->type_name("DIR")
      ->capture_default_str();
  cmd->add_option("--model", args->model,
                  "A model file to offer on the Draw page besides the runs' models")
      ->type_name("FILE");
  cmd->add_option("--port", args->port, "Port to listen on (0: any free port)")
      ->check(integer_at_least(0, 65535))
      ->capture_default_str();
  cmd->add_option("--host", args->host,
                  "Address to listen on; other than 127.0.0.1 (such as 0.0.0.0) lets other "
                  "machines connect")
      ->capture_default_str();
  return [args] { return run_serve(*args); };
}

}  // namespace cnn::cli
