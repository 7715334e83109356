// ProcessGroup: the processes of a data-parallel training run, as the training loop sees them.
//
// Data-parallel training (docs/scale-out.md) runs one copy of the model per process; each process
// takes its share of every global batch and the gradients become global through sum(). The core
// library knows only this interface: the MPI implementation (include/cnn/mpi/, the cnn_mpi
// component) lives outside it, so a build without MPI has no MPI in it. One process is
// SingleProcess, whose collectives leave their arguments as they are.
//
// Every collective must be called by every process of the group in the same order with the same
// sizes (as MPI's are); a process that skips one makes the others wait.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace cnn {

class ProcessGroup {
 public:
  virtual ~ProcessGroup() = default;

  // This process's index in [0, size()) and the number of processes.
  virtual std::size_t rank() const = 0;
  virtual std::size_t size() const = 0;

  // Element-wise sums over all processes, in place. Every process receives the same bits: the
  // sums are computed once in one fixed order and then handed to every process, so replicas that
  // apply them stay identical (MPI alone only recommends that an all-reduce give identical
  // results on every process).
  virtual void sum(std::span<float> values) = 0;
  virtual void sum(std::span<double> values) = 0;
  virtual void sum(std::span<std::uint64_t> values) = 0;

  // Rank 0's bytes overwrite every other process's.
  virtual void broadcast(std::span<std::byte> bytes) = 0;

  // Every process's value, in rank order, on every process.
  virtual std::vector<std::uint64_t> all_gather(std::uint64_t value) = 0;

  // The concatenation of every process's values in rank order, on rank 0; the other processes
  // get an empty vector. The processes may hold different counts.
  virtual std::vector<float> gather_to_root(std::span<const float> values) = 0;

  // Ends every process of the group now with this message (printed once, naming this process's
  // rank), for an error after which the others would wait forever in a collective. exit_status:
  // what the job ends with (MPI_Abort's error code, which launchers pass on), such as 2 for a
  // usage error.
  [[noreturn]] virtual void abort(const std::string& message, int exit_status = 1) = 0;
};

// The group of one process: sums and broadcasts leave their arguments unchanged.
class SingleProcess final : public ProcessGroup {
 public:
  std::size_t rank() const override { return 0; }
  std::size_t size() const override { return 1; }
  void sum(std::span<float>) override {}
  void sum(std::span<double>) override {}
  void sum(std::span<std::uint64_t>) override {}
  void broadcast(std::span<std::byte>) override {}
  std::vector<std::uint64_t> all_gather(std::uint64_t value) override { return {value}; }
  std::vector<float> gather_to_root(std::span<const float> values) override {
    return {values.begin(), values.end()};
  }
  [[noreturn]] void abort(const std::string& message, int exit_status = 1) override;
};

}  // namespace cnn
