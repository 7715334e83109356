// `cnn serve`: a local web server for the page of web/ (embedded at build time) and the JSON API
// behind it (docs/serve.md): the runs of a runs folder, a run's metrics while it trains, its
// confusion matrix and test images, and the models (a run's model.safetensors or --model) to
// classify an uploaded drawing and show filters and feature maps.
//
// Security (docs/serve.md, "Security"): every request needs the access token (query ?token=,
// "Authorization: Bearer", or the cookie cnn_token that GET / with ?token= sets) and a Host
// header naming this server (DNS rebinding); no CORS headers, a Content-Security-Policy on every
// answer. Read-only: nothing in the runs folder is written, created or locked for writing; run
// ids are folder names directly inside it (anything leading outside is refused). Request bodies
// up to kMaxBodyBytes, uploaded images up to kMaxUploadSide pixels a side.
//
// Threads: httplib serves each connection on a thread of a fixed pool (ServeOptions::threads);
// a connection kept alive holds its thread for at most a second between requests, so many clients
// take turns rather than wait. A live run is followed by polling (short requests), which ties no
// thread to a follower. Models are shared between requests: cnn::Model locks itself for each
// call (its threading contract, cnn/model.hpp), so concurrent predictions take turns on one
// model and each gets the result a lone call gives.
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>

namespace cnn::serve {

inline constexpr std::size_t kMaxBodyBytes = std::size_t{4} << 20;  // 4 MiB
inline constexpr std::size_t kMaxUploadSide = 4096;                 // pixels, width and height

struct ServeOptions {
  std::filesystem::path runs = "runs";  // the runs folder (may not exist yet: no runs)
  std::filesystem::path model;          // --model: offered as model "default" (none when empty)
  std::string host = "127.0.0.1";       // address to listen on
  int port = 8008;                      // 0: a free port chosen by the system
  std::string token;                    // empty: random_token()
  std::size_t threads = 32;             // the HTTP server's pool of connection threads
};

// The server cannot start (address in use, a --runs that is a file...). The message says why.
class ServeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Server {
 public:
  // Binds the address (so port() is known), loads --model when given. Throws ServeError, and
  // ModelFileError for a bad --model.
  explicit Server(ServeOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  int port() const;
  const std::string& token() const;
  // "http://127.0.0.1:PORT/?token=TOKEN" (the --host, or 127.0.0.1 for 0.0.0.0 / ::).
  std::string url() const;

  // Serves until stop(); returns false when the server failed to listen.
  bool run();
  // Stops run() (from any thread; not from a signal handler). Safe to call more than once.
  void stop();
  // Whether run() is serving (for tests that start it on a thread).
  bool running() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cnn::serve
