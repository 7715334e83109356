// How the images are ordered and shared among the processes of a data-parallel run
// (sharding.hpp), without MPI: orders follow from (seed, epoch) alone, shares are disjoint and
// cover every batch, evaluation shares are whole batches.
#include "cnn/train/sharding.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <stdexcept>
#include <vector>

#include "cnn/core/rng.hpp"

namespace {

TEST(EpochOrder, DependsOnlyOnSeedAndEpochAndIsAPermutation) {
  const std::vector<std::uint32_t> a = cnn::epoch_order(1000, 7, 3);
  // Computed again, elsewhere, after other orders: the same (nothing carries over).
  (void)cnn::epoch_order(1000, 7, 2);
  EXPECT_EQ(cnn::epoch_order(1000, 7, 3), a);
  std::vector<std::uint32_t> sorted = a;
  std::sort(sorted.begin(), sorted.end());
  std::vector<std::uint32_t> all(1000);
  std::iota(all.begin(), all.end(), 0u);
  EXPECT_EQ(sorted, all);
  EXPECT_NE(cnn::epoch_order(1000, 7, 4), a) << "another epoch, another order";
  EXPECT_NE(cnn::epoch_order(1000, 8, 3), a) << "another seed, another order";
  EXPECT_NE(cnn::epoch_order(1000, 8, 2), a);
}

TEST(EpochOrder, TheFirstEpochIsTheShuffleOfRunsBeforeDataParallelTraining) {
  // Runs shorter than one epoch (the design's recipe) keep their results.
  std::vector<std::uint32_t> before(500);
  std::iota(before.begin(), before.end(), 0u);
  cnn::Rng(42).shuffle(before);
  EXPECT_EQ(cnn::epoch_order(500, 42, 1), before);
}

TEST(EpochOrder, FillingInPlaceGivesTheSameOrder) {
  std::vector<std::uint32_t> order(300, 99);
  cnn::fill_epoch_order(order, 5, 6);
  EXPECT_EQ(order, cnn::epoch_order(300, 5, 6));
}

TEST(ShareOf, SharesAreContiguousDisjointCoverAndDifferByAtMostOne) {
  for (std::size_t processes = 1; processes <= 9; ++processes) {
    for (std::size_t items = 0; items <= 70; ++items) {
      std::size_t next = 0, least = items, most = 0;
      for (std::size_t rank = 0; rank < processes; ++rank) {
        const cnn::Share share = cnn::share_of(items, rank, processes);
        EXPECT_EQ(share.begin, next) << items << " items, rank " << rank << " of " << processes;
        next = share.begin + share.count;
        least = std::min(least, share.count);
        most = std::max(most, share.count);
      }
      EXPECT_EQ(next, items) << items << " items on " << processes << " processes";
      EXPECT_LE(most - least, 1u);
    }
  }
  // The README's example: a batch of 33 on 2 processes is 17 and 16; 3 on 4 leaves one empty.
  EXPECT_EQ(cnn::share_of(33, 0, 2).count, 17u);
  EXPECT_EQ(cnn::share_of(33, 1, 2).count, 16u);
  EXPECT_EQ(cnn::share_of(3, 3, 4).count, 0u);
}

TEST(ShareOf, EveryImageOfAnEpochIsTrainedOnByExactlyOneProcess) {
  // The global batches of one epoch cut into shares: each image once, on one process.
  const std::size_t examples = 103, batch = 10, processes = 4;
  const std::vector<std::uint32_t> order = cnn::epoch_order(examples, 3, 2);
  std::vector<int> seen(examples, 0);
  for (std::size_t begin = 0; begin < examples; begin += batch) {
    const std::size_t count = std::min(batch, examples - begin);
    for (std::size_t rank = 0; rank < processes; ++rank) {
      const cnn::Share share = cnn::share_of(count, rank, processes);
      for (std::size_t i = 0; i < share.count; ++i) ++seen[order[begin + share.begin + i]];
    }
  }
  EXPECT_EQ(std::count(seen.begin(), seen.end(), 1), static_cast<long>(examples));
}

TEST(ShareOf, RefusesARankOutsideTheGroup) {
  EXPECT_THROW(cnn::share_of(10, 2, 2), std::invalid_argument);
  EXPECT_THROW(cnn::share_of(10, 0, 0), std::invalid_argument);
}

TEST(EvaluationShare, WholeBatchesThatCoverTheData) {
  for (std::size_t processes = 1; processes <= 5; ++processes) {
    for (const std::size_t examples : {1u, 99u, 100u, 101u, 1234u}) {
      std::size_t next = 0;
      for (std::size_t rank = 0; rank < processes; ++rank) {
        const cnn::Share share = cnn::evaluation_share(examples, 100, rank, processes);
        EXPECT_EQ(share.begin, next);
        if (share.count > 0) {
          EXPECT_EQ(share.begin % 100, 0u) << "a share starts a batch";
        }
        next = share.begin + share.count;
      }
      EXPECT_EQ(next, examples) << examples << " images on " << processes << " processes";
    }
  }
  EXPECT_THROW(cnn::evaluation_share(10, 0, 0, 1), std::invalid_argument);
}

}  // namespace
