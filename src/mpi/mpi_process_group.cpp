#include "cnn/mpi/mpi_process_group.hpp"

#include <mpi.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>

namespace cnn {

namespace {

// Throws MpiError naming the call and carrying MPI's text for the code. The communicators of
// this file return their errors (MPI_ERRORS_RETURN) instead of ending the process.
void check(int code, const char* operation) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  std::string reason = MPI_Error_string(code, text, &length) == MPI_SUCCESS
                           ? std::string(text, static_cast<std::size_t>(length))
                           : "MPI error code " + std::to_string(code);
  throw MpiError(std::string(operation) + " failed: " + reason);
}

bool mpi_running() {
  int initialized = 0;
  int finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  return initialized != 0 && finalized == 0;
}

template <typename T>
MPI_Datatype datatype_of();
template <>
MPI_Datatype datatype_of<float>() {
  return MPI_FLOAT;
}
template <>
MPI_Datatype datatype_of<double>() {
  return MPI_DOUBLE;
}
template <>
MPI_Datatype datatype_of<std::uint64_t>() {
  return MPI_UINT64_T;
}

// Calls send(offset, count) for consecutive pieces of [0, total) of at most max_count elements,
// so that every MPI count fits in an int.
template <typename Send>
void in_pieces(std::size_t total, std::size_t max_count, Send send) {
  for (std::size_t offset = 0; offset < total; offset += max_count) {
    send(offset, static_cast<int>(std::min(max_count, total - offset)));
  }
}

// MPI_THREAD_FUNNELED promises MPI that only the thread that started it calls it.
void require_main_thread(const char* operation) {
  int is_main = 0;
  check(MPI_Is_thread_main(&is_main), "MPI_Is_thread_main");
  if (is_main == 0) {
    throw MpiError(std::string(operation) +
                   ": called from a thread other than the one that started MPI "
                   "(MPI_THREAD_FUNNELED: only that thread may call MPI)");
  }
}

}  // namespace

bool launched_by_mpi() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"}) {
    const char* value = std::getenv(name);
    if (value != nullptr && *value != '\0') return true;
  }
  return false;
}

struct MpiProcessGroup::Communicator {
  MPI_Comm comm = MPI_COMM_NULL;
};

MpiProcessGroup::MpiProcessGroup(std::size_t max_elements_per_message)
    : communicator_(std::make_unique<Communicator>()),
      max_elements_per_message_(std::min(max_elements_per_message, kMaxElementsPerMessage)) {
  if (max_elements_per_message_ == 0) {
    throw std::invalid_argument("MpiProcessGroup: max_elements_per_message must be at least 1");
  }
  if (!mpi_running()) {
    throw MpiError("MpiProcessGroup: MPI is not running (create an MpiSession first)");
  }
  check(MPI_Comm_dup(MPI_COMM_WORLD, &communicator_->comm), "MPI_Comm_dup");
  check(MPI_Comm_set_errhandler(communicator_->comm, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
  int rank = 0;
  int size = 1;
  check(MPI_Comm_rank(communicator_->comm, &rank), "MPI_Comm_rank");
  check(MPI_Comm_size(communicator_->comm, &size), "MPI_Comm_size");
  rank_ = static_cast<std::size_t>(rank);
  size_ = static_cast<std::size_t>(size);
}

MpiProcessGroup::~MpiProcessGroup() {
  if (communicator_->comm != MPI_COMM_NULL && mpi_running()) MPI_Comm_free(&communicator_->comm);
}

template <typename T>
void MpiProcessGroup::sum_in_place(std::span<T> values) {
  MPI_Comm comm = communicator_->comm;
  const bool root = rank_ == 0;
  in_pieces(values.size(), max_elements_per_message_, [&](std::size_t offset, int count) {
    T* piece = values.data() + offset;
    const auto elements = static_cast<std::size_t>(count);
    if (elements < kScatterElements || elements < size_) {
      // The root adds the others' values into its own (MPI_IN_PLACE); the others only send theirs;
      // then everyone takes the root's bits.
      check(MPI_Reduce(root ? MPI_IN_PLACE : piece, root ? piece : nullptr, count, datatype_of<T>(),
                       MPI_SUM, 0, comm),
            "MPI_Reduce");
      check(MPI_Bcast(piece, count, datatype_of<T>(), 0, comm), "MPI_Bcast");
      return;
    }
    // Slices as even as share_of's: process r sums slice r, then every process gathers them all.
    counts_.resize(size_);
    displacements_.resize(size_);
    const std::size_t base = elements / size_, extra = elements % size_;
    for (std::size_t r = 0, next = 0; r < size_; ++r) {
      counts_[r] = static_cast<int>(base + (r < extra ? 1 : 0));
      displacements_[r] = static_cast<int>(next);
      next += static_cast<std::size_t>(counts_[r]);
    }
    slice_.resize(static_cast<std::size_t>(counts_[rank_]) * sizeof(T));
    check(MPI_Reduce_scatter(piece, slice_.data(), counts_.data(), datatype_of<T>(), MPI_SUM, comm),
          "MPI_Reduce_scatter");
    check(MPI_Allgatherv(slice_.data(), counts_[rank_], datatype_of<T>(), piece, counts_.data(),
                         displacements_.data(), datatype_of<T>(), comm),
          "MPI_Allgatherv");
  });
}

void MpiProcessGroup::sum(std::span<float> values) {
  require_main_thread("sum");
  sum_in_place(values);
}

void MpiProcessGroup::sum(std::span<double> values) {
  require_main_thread("sum");
  sum_in_place(values);
}

void MpiProcessGroup::sum(std::span<std::uint64_t> values) {
  require_main_thread("sum");
  sum_in_place(values);
}

void MpiProcessGroup::broadcast(std::span<std::byte> bytes) {
  require_main_thread("broadcast");
  in_pieces(bytes.size(), max_elements_per_message_, [&](std::size_t offset, int count) {
    check(MPI_Bcast(bytes.data() + offset, count, MPI_BYTE, 0, communicator_->comm), "MPI_Bcast");
  });
}

std::vector<std::uint64_t> MpiProcessGroup::all_gather(std::uint64_t value) {
  require_main_thread("all_gather");
  std::vector<std::uint64_t> values(size_);
  check(MPI_Allgather(&value, 1, MPI_UINT64_T, values.data(), 1, MPI_UINT64_T, communicator_->comm),
        "MPI_Allgather");
  return values;
}

std::vector<float> MpiProcessGroup::gather_to_root(std::span<const float> values) {
  require_main_thread("gather_to_root");
  // Every process learns every count (an all-gather rather than a gather to the root), so that
  // all of them take the same one of the two paths below.
  const std::vector<std::uint64_t> counts = all_gather(values.size());
  std::uint64_t total = 0;
  for (std::uint64_t count : counts) total += count;
  const bool root = rank_ == 0;
  std::vector<float> gathered(root ? total : 0);
  MPI_Comm comm = communicator_->comm;
  if (total <= max_elements_per_message_) {
    // One MPI_Gatherv: every count and offset fits in an int.
    std::vector<int> int_counts(size_);
    std::vector<int> offsets(size_);
    int offset = 0;
    for (std::size_t r = 0; r < size_; ++r) {
      int_counts[r] = static_cast<int>(counts[r]);
      offsets[r] = offset;
      offset += int_counts[r];
    }
    check(MPI_Gatherv(values.data(), static_cast<int>(values.size()), MPI_FLOAT, gathered.data(),
                      int_counts.data(), offsets.data(), MPI_FLOAT, 0, comm),
          "MPI_Gatherv");
    return gathered;
  }
  // More than one message holds: each process sends its values to the root in pieces, the root
  // receives them process by process (messages between two processes arrive in order).
  constexpr int kTag = 1;
  if (root) {
    std::copy(values.begin(), values.end(), gathered.begin());
    std::size_t offset = values.size();
    for (std::size_t r = 1; r < size_; ++r) {
      in_pieces(counts[r], max_elements_per_message_, [&](std::size_t piece, int count) {
        check(MPI_Recv(gathered.data() + offset + piece, count, MPI_FLOAT, static_cast<int>(r),
                       kTag, comm, MPI_STATUS_IGNORE),
              "MPI_Recv");
      });
      offset += counts[r];
    }
  } else {
    in_pieces(values.size(), max_elements_per_message_, [&](std::size_t piece, int count) {
      check(MPI_Send(values.data() + piece, count, MPI_FLOAT, 0, kTag, comm), "MPI_Send");
    });
  }
  return gathered;
}

void MpiProcessGroup::abort(const std::string& message, int exit_status) {
  // Once per process, even when an abort is reached again while ending (a destructor, a second
  // error): the launcher prints every process's stderr.
  static std::atomic_flag printed = ATOMIC_FLAG_INIT;
  if (!printed.test_and_set()) {
    std::cout.flush();
    std::fprintf(stderr, "cnn: error: rank %zu of %zu: %s\n", rank_, size_, message.c_str());
    std::fflush(nullptr);
  }
  MPI_Abort(communicator_->comm, exit_status);
  std::_Exit(
      exit_status);  // MPI_Abort does not return in Open MPI or MPICH; the standard only hopes so
}

MpiSession::MpiSession(int& argc, char**& argv) {
  start(&argc, &argv);
}

MpiSession::MpiSession() {
  start(nullptr, nullptr);
}

void MpiSession::start(int* argc, char*** argv) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (initialized != 0)
    throw MpiError("MpiSession: MPI was already started (one session per process)");
  int provided = MPI_THREAD_SINGLE;
  check(MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
  // From here on, errors return codes (MpiError) rather than end the process without a word.
  check(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
  if (provided < MPI_THREAD_FUNNELED) {
    MPI_Finalize();
    throw MpiError(
        "MPI_Init_thread: this MPI library does not provide MPI_THREAD_FUNNELED (the main thread "
        "calls MPI while the kernel threads run)");
  }
  group_ = std::make_unique<MpiProcessGroup>();
  uncaught_exceptions_at_start_ = std::uncaught_exceptions();
}

MpiSession::~MpiSession() {
  // Unwinding past the session with other processes alive: finalizing would wait for processes
  // that may be waiting in a collective for this one. End the job instead.
  if (group_->size() > 1 && std::uncaught_exceptions() > uncaught_exceptions_at_start_) {
    group_->abort("an error ended this process before it could be reported (see its output)");
  }
  group_.reset();  // MPI_Comm_free, before MPI_Finalize
  MPI_Finalize();
}

}  // namespace cnn
