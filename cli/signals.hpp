// Ctrl-C (SIGINT) and SIGTERM while training: the first one asks training to stop after the step
// in progress (train() polls the flag, writes a checkpoint and returns); the handler then steps
// aside, so a second Ctrl-C ends the program at once.
#pragma once

#include <atomic>

namespace cnn::cli {

// Installs the handlers and returns the flag they set.
const std::atomic<bool>& install_stop_handlers();
// Back to the default (Ctrl-C ends the program), for the work after training: nothing polls the
// flag then, and the files written then are written atomically anyway.
void uninstall_stop_handlers();
// The signal that set the flag (SIGINT or SIGTERM), or 0.
int stop_signal();

}  // namespace cnn::cli
