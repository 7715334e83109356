#include "cnn/train/training.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <numeric>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "cnn/core/rng.hpp"
#include "cnn/nn/softmax_cross_entropy.hpp"
#include "cnn/train/divergence.hpp"
#include "cnn/train/evaluation.hpp"
#include "cnn/train/make_optimizer.hpp"
#include "cnn/train/sharding.hpp"
#include "train/forward_block.hpp"

namespace cnn {

namespace {

// Hands out the global mini-batches of each epoch's order (epoch_order: from the seed and the
// epoch alone, the same on every process of a data-parallel run).
class BatchSampler {
 public:
  BatchSampler(std::size_t examples, std::size_t batch_size, std::uint64_t seed)
      : order_(examples), batch_size_(batch_size), seed_(seed) {
    fill_epoch_order(order_, seed_, 1);
  }

  // Indices of the next global batch; the last batch of an epoch may be smaller.
  std::span<const std::uint32_t> next() {
    if (position_ == order_.size()) {
      ++epoch_;
      fill_epoch_order(order_, seed_, epoch_);  // in place: no allocation per epoch
      position_ = 0;
    }
    const std::span<const std::uint32_t> batch = peek();
    position_ += batch.size();
    return batch;
  }

  // The batch next() will hand out, when it is in this epoch's order (empty at an epoch's end,
  // whose next order is not drawn yet).
  std::span<const std::uint32_t> peek() const {
    const std::size_t count = std::min(batch_size_, order_.size() - position_);
    return {order_.data() + position_, count};
  }

  std::size_t epoch() const { return epoch_; }

  // The generator field is kept for the checkpoint format: orders no longer come from a stream.
  SamplerState state() const { return {order_, position_, epoch_, Rng(seed_).state()}; }
  // The current epoch's order comes from the state (a checkpoint of an earlier version holds an
  // order drawn otherwise); the next epochs' from epoch_order.
  void restore(const SamplerState& state) {
    if (state.order.size() != order_.size() || state.position > order_.size()) {
      throw std::invalid_argument("the saved order of the images covers " +
                                  std::to_string(state.order.size()) + " images, the data has " +
                                  std::to_string(order_.size()));
    }
    for (const std::uint32_t index : state.order) {
      if (index >= order_.size()) {
        throw std::invalid_argument("the saved order of the images names image " +
                                    std::to_string(index) + " of " + std::to_string(order_.size()));
      }
    }
    order_ = state.order;
    position_ = state.position;
    epoch_ = state.epoch;
  }

 private:
  std::vector<std::uint32_t> order_;
  std::size_t batch_size_;
  std::uint64_t seed_;
  std::size_t position_ = 0;
  std::size_t epoch_ = 1;
};

// FNV-1a over bytes, continuing from hash.
std::uint64_t fnv1a(std::uint64_t hash, const void* data, std::size_t bytes) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (std::size_t i = 0; i < bytes; ++i) {
    hash ^= p[i];
    hash *= 0x100000001b3ULL;
  }
  return hash;
}
constexpr std::uint64_t kFnvBasis = 0xcbf29ce484222325ULL;

std::uint64_t fnv1a(std::uint64_t hash, const std::string& text) {
  return fnv1a(hash, text.data(), text.size() + 1);  // the terminator separates names
}

// What must be laid out alike on every process before anything is broadcast: the layers, every
// parameter, buffer and optimizer tensor with its shape, and the block's size.
std::string layout_of(Sequential& model, Optimizer& optimizer) {
  std::string layout;
  for (std::size_t i = 0; i < model.size(); ++i) layout += model.layer(i).describe() + ";";
  for (const Parameter& p : model.parameters()) {
    layout += p.name + p.value->shape().to_string() + ";";
  }
  for (const Buffer& b : model.buffers()) layout += b.name + b.value->shape().to_string() + ";";
  layout += optimizer.describe() + ";";
  for (const StateTensor& t : optimizer.state()) {
    layout += t.name + t.value->shape().to_string() + ";";
  }
  layout += std::to_string(model.parameter_block().count());
  return layout;
}

std::span<std::byte> bytes_of(Tensor& t) {
  return {reinterpret_cast<std::byte*>(t.data()), t.size() * sizeof(float)};
}

// Every process starts from rank 0's weights, buffers and optimizer state (PyTorch's
// DistributedDataParallel broadcasts at start the same way): ranks seeded differently, or a rank
// that read another checkpoint, agree from the first step. A different layout on some rank is
// found first (the broadcasts would not even fit) and named.
void start_alike(ProcessGroup& group, Sequential& model, Optimizer& optimizer) {
  const std::string layout = layout_of(model, optimizer);
  const std::vector<std::uint64_t> layouts = group.all_gather(fnv1a(kFnvBasis, layout));
  for (std::size_t rank = 1; rank < layouts.size(); ++rank) {
    if (layouts[rank] != layouts[0]) {
      throw std::runtime_error("data-parallel training: process " + std::to_string(rank) + " of " +
                               std::to_string(layouts.size()) +
                               " holds a different model or optimizer than process 0 (layers, "
                               "parameter shapes or update rule differ); every process must be "
                               "started with the same settings");
    }
  }
  ParameterBlock& block = model.parameter_block();
  group.broadcast({reinterpret_cast<std::byte*>(block.values()), block.count() * sizeof(float)});
  for (const Buffer& b : model.buffers()) group.broadcast(bytes_of(*b.value));
  for (const StateTensor& t : optimizer.state()) group.broadcast(bytes_of(*t.value));
  std::uint64_t steps = optimizer.iterations();
  group.broadcast({reinterpret_cast<std::byte*>(&steps), sizeof steps});
  optimizer.set_iterations(static_cast<std::size_t>(steps));
}

// After an epoch: every replica's fingerprint must equal rank 0's. Every process sees the same
// gathered hashes, so all of them throw (or none) at the same step.
void check_replicas(ProcessGroup& group, Sequential& model, Optimizer& optimizer,
                    std::size_t iteration) {
  const std::vector<std::uint64_t> hashes =
      group.all_gather(replica_fingerprint(model, &optimizer));
  for (std::size_t rank = 1; rank < hashes.size(); ++rank) {
    if (hashes[rank] != hashes[0]) {
      throw std::runtime_error("data-parallel training: after iteration " +
                               std::to_string(iteration) + " the weights or optimizer state of " +
                               "process " + std::to_string(rank) + " differ from process 0's " +
                               "(the replicas drifted apart)");
    }
  }
}

// Wall time of the collectives of the step, for TrainResult::communication_seconds.
class Stopwatch {
 public:
  explicit Stopwatch(double& total) : total_(total), start_(std::chrono::steady_clock::now()) {}
  ~Stopwatch() {
    total_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }
  Stopwatch(const Stopwatch&) = delete;
  Stopwatch& operator=(const Stopwatch&) = delete;

 private:
  double& total_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace

IterationPlan plan_iterations(const TrainOptions& options, std::size_t examples) {
  if (options.batch_size == 0) throw std::invalid_argument("batch size must be positive");
  IterationPlan plan;
  plan.per_epoch = (examples + options.batch_size - 1) / options.batch_size;
  if (options.epochs > 0) {
    plan.epochs = options.epochs;
    plan.total = plan.per_epoch * options.epochs;
  } else {
    plan.total = options.iterations;
    // No data makes no epochs (rather than a division by zero).
    plan.epochs = plan.per_epoch > 0 ? (plan.total + plan.per_epoch - 1) / plan.per_epoch : 0;
  }
  return plan;
}

TrainResult train(Sequential& model, const Dataset& data, const TrainOptions& options,
                  const std::function<void(const TrainProgress&)>& on_progress) {
  check_model_fits(model, data);
  const IterationPlan plan = plan_iterations(options, data.size());
  const std::size_t total = plan.total;
  SingleProcess alone;
  ProcessGroup& group = options.processes != nullptr ? *options.processes : alone;
  const bool parallel = group.size() > 1;
  if (options.batch_size < group.size()) {
    throw std::invalid_argument("batch size " + std::to_string(options.batch_size) +
                                " is smaller than the " + std::to_string(group.size()) +
                                " processes: each needs a share of every batch");
  }
  BatchSampler sampler(data.size(), options.batch_size, options.shuffle_seed);
  ParameterBlock& block = model.parameter_block();
  const std::unique_ptr<Optimizer> optimizer = make_optimizer(block, options.optimizer, total);
  std::optional<Augmenter> augmenter;
  if (options.augment.enabled()) augmenter.emplace(options.augment);
  // The random numbers of augmentation and dropout follow from each image's key (see
  // image_key), not from generators, so they are no state to save or restore.
  std::vector<std::uint64_t> image_keys;
  image_keys.reserve(options.batch_size);
  const SoftmaxCrossEntropy criterion(options.label_smoothing);
  Tensor x, dlogits;
  std::vector<std::int32_t> labels;
  labels.reserve(options.batch_size);

  TrainResult result;
  double loss_sum = 0.0;
  std::size_t loss_count = 0;
  std::size_t first = 1;
  if (options.resume != nullptr) {
    const TrainState& resume = *options.resume;
    sampler.restore(resume.sampler);
    optimizer->set_state(resume.optimizer);
    // resume.random_streams, the generators of checkpoints written before image keys, are
    // ignored: this build draws nothing from them.
    result.images = resume.images;
    loss_sum = resume.loss_sum;
    loss_count = resume.loss_count;
    first = resume.iteration + 1;
  }
  // Batch normalisation sums its statistics over the processes; the model is handed back as it
  // came (one process) whatever happens.
  model.set_process_group(parallel ? &group : nullptr);
  struct DetachGroup {
    Sequential& model;
    ~DetachGroup() { model.set_process_group(nullptr); }
  } detach{model};
  if (parallel) start_alike(group, model, *optimizer);

  const auto start = std::chrono::steady_clock::now();
  const auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };

  result.iterations = total;
  for (std::size_t it = first; it <= total; ++it) {
    // The global batch, the same on every process, and this process's share of it.
    const std::span<const std::uint32_t> batch = sampler.next();
    const Share share = share_of(batch.size(), group.rank(), group.size());
    const std::span<const std::uint32_t> mine = batch.subspan(share.begin, share.count);
    data.gather(mine, x, labels);
    {
      const std::span<const std::uint32_t> upcoming = sampler.peek();
      const Share next = share_of(upcoming.size(), group.rank(), group.size());
      data.prefetch(upcoming.subspan(next.begin, next.count));
    }
    image_keys.clear();
    for (const std::uint32_t index : mine) {
      image_keys.push_back(image_key(options.shuffle_seed, sampler.epoch(), index));
    }
    if (augmenter) augmenter->apply(x, image_keys);
    const Tensor& logits = model.forward(x, /*training=*/true, image_keys);
    double loss = criterion.forward(logits, labels, dlogits, batch.size());
    model.backward(dlogits);
    if (options.after_backward) options.after_backward(it, block);
    // The one stage where the gradients become global, with the loss and the stop request: after
    // backward, before the finiteness check and the update, so that every process decides alike.
    const auto stop_requested = [&options] {
      return options.stop_requested != nullptr && options.stop_requested->load();
    };
    bool stop = false;
    if (parallel) {
      Stopwatch timing(result.communication_seconds);
      group.sum(std::span<float>(block.gradients(), block.count()));
      std::array<double, 2> agreed = {loss, stop_requested() ? 1.0 : 0.0};
      group.sum(agreed);
      loss = agreed[0];
      stop = agreed[1] > 0.0;
    }
    // Before the step, so that a NaN never reaches the weights.
    check_step_is_finite(loss, model, x, it);
    loss_sum += loss;
    ++loss_count;
    optimizer->step();
    result.images += batch.size();

    if (options.report_every > 0 && (it % options.report_every == 0 || it == total)) {
      result.last_loss = loss_sum / static_cast<double>(loss_count);
      if (on_progress) {
        on_progress({it, total, sampler.epoch(), result.last_loss,
                     optimizer->current_learning_rate(), elapsed(), result.images});
      }
      loss_sum = 0.0;
      loss_count = 0;
    }
    // One process honours a stop requested during the progress report at once (as the learning-
    // rate finder's divergence test needs); processes agree on it at the next step's sums.
    if (!parallel) stop = stop_requested();
    if (parallel && ((plan.per_epoch > 0 && it % plan.per_epoch == 0) || it == total)) {
      Stopwatch timing(result.communication_seconds);
      check_replicas(group, model, *optimizer, it);
      ++result.replica_checks;
    }

    bool finish = it < total && options.finish_early && options.finish_early();
    if (parallel && it < total && options.finish_early) {
      Stopwatch timing(result.communication_seconds);
      std::array<double, 1> agreed = {finish ? 1.0 : 0.0};
      group.sum(agreed);
      finish = agreed[0] > 0.0;
    }
    if (finish) {
      result.stopped_early = true;
      result.iterations = it;
      break;
    }
    const bool periodic = options.checkpoint_every > 0 && it % options.checkpoint_every == 0;
    if (it < total && (stop || periodic) && options.on_checkpoint) {
      // random_streams stays empty: image keys replaced the generators it held.
      TrainState state{it,         result.images,   loss_sum,
                       loss_count, sampler.state(), optimizer->checkpoint_state(),
                       {}};
      options.on_checkpoint(state);
    }
    if (it < total && stop) {
      result.interrupted = true;
      result.iterations = it;
      break;
    }
  }
  result.seconds = elapsed();
  return result;
}

std::uint64_t replica_fingerprint(Sequential& model, Optimizer* optimizer) {
  const ParameterBlock& block = model.parameter_block();
  std::uint64_t hash = fnv1a(kFnvBasis, block.values(), block.count() * sizeof(float));
  for (const Buffer& b : model.buffers()) {
    hash = fnv1a(hash, b.value->data(), b.value->size() * sizeof(float));
  }
  if (optimizer != nullptr) {
    for (const StateTensor& t : optimizer->state()) {
      hash = fnv1a(hash, t.value->data(), t.value->size() * sizeof(float));
    }
    const std::uint64_t steps = optimizer->iterations();
    hash = fnv1a(hash, &steps, sizeof steps);
  }
  return hash;
}

double evaluate(Sequential& model, const Dataset& data, std::size_t batch_size,
                ProcessGroup* processes) {
  if (batch_size == 0) throw std::invalid_argument("batch size must be positive");
  check_model_fits(model, data);
  const Share share = evaluation_share(data.size(), batch_size, processes);
  Tensor x;
  std::vector<std::int32_t> labels;
  std::array<std::uint64_t, 1> correct = {0};
  const std::size_t block = forward_block(model, data, batch_size);
  for (std::size_t begin = share.begin; begin < share.begin + share.count; begin += block) {
    const std::size_t count = std::min(block, share.begin + share.count - begin);
    data.gather_range(begin, count, x, labels);
    const Tensor& logits = model.forward(x, /*training=*/false);
    const std::size_t classes = logits.dim(1);
    for (std::size_t n = 0; n < count; ++n) {
      const float* row = logits.data() + n * classes;
      const auto predicted = std::max_element(row, row + classes) - row;
      if (predicted == labels[n]) ++correct[0];
    }
  }
  if (processes != nullptr) processes->sum(correct);
  return static_cast<double>(correct[0]) / static_cast<double>(data.size());
}

}  // namespace cnn
