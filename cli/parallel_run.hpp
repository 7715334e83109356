// The processes of this run of the program: one, or every process an MPI launcher started.
//
// main() creates one ParallelRun first thing (after the CPU check) and keeps it until it returns:
//
//   cnn::cli::ParallelRun run(argc, argv);
//   ...
//   try { ... train(run.group()) ... }
//   catch (const cnn::cli::UsageError& e) { run.fail(e, 2); }
//   catch (const std::exception& e) { run.fail(e); }
//
// In a build with MPI (CNN_WITH_MPI) started by a launcher (cnn::launched_by_mpi()), it starts MPI
// and group() is every process of the job; otherwise (a plain start, or a build without MPI) it
// starts nothing and group() is the one process (cnn::SingleProcess).
#pragma once

#include <exception>
#include <memory>

#include "cnn/core/process_group.hpp"

namespace cnn::cli {

class ParallelRun {
 public:
  ParallelRun(int& argc, char**& argv);
  ~ParallelRun();  // MPI_Finalize when MPI was started
  ParallelRun(const ParallelRun&) = delete;
  ParallelRun& operator=(const ParallelRun&) = delete;

  ProcessGroup& group();

  // Ends the program for an error. One process: prints "cnn: error: <what>" as main() does,
  // finalizes MPI if it was started, exits with exit_status. Several: group().abort(what), which
  // prints "cnn: error: rank R of N: <what>" and ends every process of the job within seconds
  // (the others would otherwise wait forever in their next collective).
  [[noreturn]] void fail(const std::exception& error, int exit_status = 1);

 private:
  struct Session;  // the MPI session, in a build with MPI; the header is the same in both
  std::unique_ptr<Session> session_;
  SingleProcess single_process_;
};

}  // namespace cnn::cli
