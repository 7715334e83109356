#include "parallel_run.hpp"

#include <cstdlib>
#include <iostream>

#ifdef CNN_WITH_MPI
#include "cnn/mpi/mpi_process_group.hpp"
#endif

namespace cnn::cli {

#ifdef CNN_WITH_MPI
struct ParallelRun::Session {
  MpiSession mpi;
  Session(int& argc, char**& argv) : mpi(argc, argv) {}
};
#else
struct ParallelRun::Session {};  // never created: this build has no MPI
#endif

ParallelRun::ParallelRun([[maybe_unused]] int& argc, [[maybe_unused]] char**& argv) {
#ifdef CNN_WITH_MPI
  // Only under a launcher: an MPI build started plainly stays one process and never calls
  // MPI_Init (which, with Open MPI, would start a helper daemon).
  if (launched_by_mpi()) session_ = std::make_unique<Session>(argc, argv);
#endif
}

ParallelRun::~ParallelRun() = default;

ProcessGroup& ParallelRun::group() {
#ifdef CNN_WITH_MPI
  if (session_) return session_->mpi.group();
#endif
  return single_process_;
}

void ParallelRun::fail(const std::exception& error, int exit_status) {
  if (group().size() > 1) group().abort(error.what(), exit_status);
  std::cerr << "cnn: error: " << error.what() << "\n";
  std::cerr.flush();
  session_.reset();  // std::exit skips main()'s locals: finalize here
  std::exit(exit_status);
}

}  // namespace cnn::cli
