// The processes of a data-parallel run as MPI sees them (the cnn_mpi component, built when CMake
// finds MPI: -DCNN_MPI=AUTO|ON|OFF). The core library knows only cnn::ProcessGroup; this header
// implements it over MPI and declares no MPI type, so a program that includes it needs no mpi.h
// (only the link, which the cnn_mpi target brings).
//
// Use: a program starts MPI only when a launcher started it, so that an MPI build run plainly is
// one process and never calls MPI_Init:
//
//   std::optional<cnn::MpiSession> session;
//   if (cnn::launched_by_mpi()) session.emplace(argc, argv);
//   cnn::SingleProcess single;
//   cnn::ProcessGroup& group = session ? session->group() : single;
//
// Only the thread that created the session may call the group (MPI_THREAD_FUNNELED): the kernel
// thread pool never does.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "cnn/core/process_group.hpp"

namespace cnn {

// True when an MPI launcher started this process, read from the variables launchers set:
// OMPI_COMM_WORLD_SIZE (Open MPI's mpirun), PMIX_RANK (any PMIx launcher: Open MPI's prterun,
// Slurm's `srun --mpi=pmix`), PMI_RANK or PMI_SIZE (MPICH's Hydra mpiexec, Intel MPI, Slurm's
// `srun --mpi=pmi2`). A plain start has none of them.
bool launched_by_mpi();

// An MPI call that returned an error: the message names the call and carries MPI's own text
// (MPI_Error_string), e.g. "MPI_Reduce failed: MPI_ERR_TRUNCATE: message truncated".
class MpiError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// MPI_COMM_WORLD seen as a ProcessGroup, through a duplicate of it (MPI_Comm_dup) so that the
// library's messages never meet anyone else's. Errors of its calls come back as MpiError.
//
// Every collective is split into messages of at most max_elements_per_message elements (MPI
// counts are int), so buffers of more than INT_MAX elements work too.
class MpiProcessGroup final : public ProcessGroup {
 public:
  static constexpr std::size_t kMaxElementsPerMessage = 2147483647;  // INT_MAX
  // Buffers at least this long (and at least one element per process) are summed by
  // reduce-scatter and all-gather (see sum()).
  static constexpr std::size_t kScatterElements = 32768;

  // Collective over MPI_COMM_WORLD: every process creates its groups in the same order. Needs MPI
  // started (an MpiSession); throws MpiError otherwise. A smaller message size is for tests.
  explicit MpiProcessGroup(std::size_t max_elements_per_message = kMaxElementsPerMessage);
  ~MpiProcessGroup() override;
  MpiProcessGroup(const MpiProcessGroup&) = delete;
  MpiProcessGroup& operator=(const MpiProcessGroup&) = delete;

  std::size_t rank() const override { return rank_; }
  std::size_t size() const override { return size_; }

  // Each element's sum is computed once and every process receives those bits (an MPI_Allreduce
  // may combine the values in a different order on each process). Short buffers: MPI_Reduce to
  // rank 0, then MPI_Bcast. From kScatterElements on: MPI_Reduce_scatter (each process sums one
  // slice of the buffer), then MPI_Allgatherv of the slices, which moves each byte about twice
  // (as a ring all-reduce does) instead of through rank 0's links.
  void sum(std::span<float> values) override;
  void sum(std::span<double> values) override;
  void sum(std::span<std::uint64_t> values) override;

  void broadcast(std::span<std::byte> bytes) override;
  std::vector<std::uint64_t> all_gather(std::uint64_t value) override;
  // MPI_Gather of the counts, then MPI_Gatherv of the values (or, when the total is more than one
  // message holds, each process's values sent to rank 0 in turn).
  std::vector<float> gather_to_root(std::span<const float> values) override;

  // Prints "cnn: error: rank R of N: <message>" to stderr (once, even if called again), then
  // MPI_Abort: the launcher ends every process of the job.
  [[noreturn]] void abort(const std::string& message, int exit_status = 1) override;

 private:
  struct Communicator;  // holds the MPI_Comm, which this header does not name
  std::unique_ptr<Communicator> communicator_;
  std::size_t rank_ = 0;
  std::size_t size_ = 1;
  std::size_t max_elements_per_message_;
  // Reduce-scatter's slice and its counts, kept between calls (no allocation per step).
  std::vector<std::byte> slice_;
  std::vector<int> counts_, displacements_;

  template <typename T>
  void sum_in_place(std::span<T> values);
};

// MPI for the life of this object: MPI_Init_thread (MPI_THREAD_FUNNELED: only the thread that
// created the session calls MPI) in the constructor, MPI_Finalize in the destructor. One per
// process, created by main() when launched_by_mpi(). MPI_COMM_WORLD's errors return codes
// (MPI_ERRORS_RETURN) instead of ending the process, so that they surface as MpiError with the
// call's name.
//
// The destructor finalizes, which waits for the other processes: a process leaving because of an
// error must end the job with group().abort() instead (as cnn::cli::ParallelRun::fail does), or
// the others wait forever in their next collective. When the destructor runs during stack
// unwinding of a job of several processes, it aborts the job instead of finalizing.
class MpiSession {
 public:
  MpiSession(int& argc, char**& argv);
  MpiSession();  // without the command line (MPI-2 allows it)
  ~MpiSession();
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;

  // Every process of the job (MPI_COMM_WORLD).
  MpiProcessGroup& group() { return *group_; }

 private:
  void start(int* argc, char*** argv);
  std::unique_ptr<MpiProcessGroup> group_;
  int uncaught_exceptions_at_start_ = 0;
};

}  // namespace cnn
