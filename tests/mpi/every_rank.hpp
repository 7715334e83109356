// What the GoogleTest binaries that run under an MPI launcher share: the job's processes
// (`world`, set by main()), a guard for tests that need them, and main()'s ending: every rank runs
// every test, only rank 0 prints GoogleTest's report (the others print only their failures, with
// their rank), and the job passes only when every rank passed.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <vector>

#include "cnn/core/process_group.hpp"
#include "cnn/mpi/mpi_process_group.hpp"

// Every process of the job, when a launcher started this one (set by main()).
inline cnn::MpiProcessGroup* world = nullptr;

// Skips the test when no launcher started the binary (a plain run has no other processes).
#define REQUIRE_LAUNCHER()                                                  \
  do {                                                                      \
    if (world == nullptr) {                                                 \
      GTEST_SKIP() << "needs an MPI launcher (CTest runs it under mpirun)"; \
    }                                                                       \
  } while (false)

namespace cnn::testing {

// Prints a failure on a rank other than 0, whose own report is silenced.
class RankFailurePrinter : public ::testing::EmptyTestEventListener {
 public:
  explicit RankFailurePrinter(std::size_t rank) : rank_(rank) {}
  void OnTestPartResult(const ::testing::TestPartResult& result) override {
    if (!result.failed()) return;
    std::fprintf(stderr, "[rank %zu] %s:%d: failure\n%s\n", rank_,
                 result.file_name() ? result.file_name() : "?", result.line_number(),
                 result.message());
  }

 private:
  std::size_t rank_;
};

// RUN_ALL_TESTS() on every rank of world; 0 only when every rank passed.
inline int run_all_tests_on_every_rank(ProcessGroup& world) {
  if (world.rank() != 0) {
    ::testing::TestEventListeners& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
    listeners.Append(new RankFailurePrinter(world.rank()));
  }
  const int result = RUN_ALL_TESTS();
  std::vector<std::uint64_t> failed_ranks{result != 0 ? 1U : 0U};
  world.sum(failed_ranks);
  if (world.rank() == 0 && failed_ranks[0] != 0) {
    std::fprintf(stderr, "%llu of %zu ranks failed\n",
                 static_cast<unsigned long long>(failed_ranks[0]), world.size());
  }
  return failed_ranks[0] != 0 ? 1 : 0;
}

}  // namespace cnn::testing
