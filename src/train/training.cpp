#include "cnn/train/training.hpp"

#include <algorithm>
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

namespace cnn {

namespace {

// The one stage where the gradients become global (see GradientSync): after backward, before the
// finiteness check and the update.
void synchronize_gradients(const TrainOptions& options, ParameterBlock& block, double& loss) {
  if (options.gradient_sync) options.gradient_sync(block, loss);
}

// Hands out mini-batches of a fresh random permutation each epoch.
class BatchSampler {
 public:
  BatchSampler(std::size_t examples, std::size_t batch_size, std::uint64_t seed)
      : order_(examples), batch_size_(batch_size), rng_(seed) {
    std::iota(order_.begin(), order_.end(), 0u);
    rng_.shuffle(order_);
  }

  // Indices of the next batch; the last batch of an epoch may be smaller.
  std::span<const std::uint32_t> next() {
    if (position_ == order_.size()) {
      rng_.shuffle(order_);
      position_ = 0;
      ++epoch_;
    }
    const std::size_t count = std::min(batch_size_, order_.size() - position_);
    std::span<const std::uint32_t> batch(order_.data() + position_, count);
    position_ += count;
    return batch;
  }

  std::size_t epoch() const { return epoch_; }

  SamplerState state() const { return {order_, position_, epoch_, rng_.state()}; }
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
    rng_.set_state(state.rng);
  }

 private:
  std::vector<std::uint32_t> order_;
  std::size_t batch_size_;
  Rng rng_;
  std::size_t position_ = 0;
  std::size_t epoch_ = 1;
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
  const std::size_t total = plan_iterations(options, data.size()).total;
  BatchSampler sampler(data.size(), options.batch_size, options.shuffle_seed);
  ParameterBlock& block = model.parameter_block();
  const std::unique_ptr<Optimizer> optimizer = make_optimizer(block, options.optimizer, total);
  std::optional<Augmenter> augmenter;
  if (options.augment.enabled()) augmenter.emplace(options.augment);
  // The random numbers of augmentation and dropout follow from each image's key (see
  // image_key), not from generators, so they are no state to save or restore.
  std::vector<std::uint64_t> image_keys;
  image_keys.reserve(options.batch_size);
  SoftmaxCrossEntropy criterion;
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
  const auto start = std::chrono::steady_clock::now();
  const auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };

  result.iterations = total;
  for (std::size_t it = first; it <= total; ++it) {
    const std::span<const std::uint32_t> batch = sampler.next();
    data.gather(batch, x, labels);
    image_keys.clear();
    for (const std::uint32_t index : batch) {
      image_keys.push_back(image_key(options.shuffle_seed, sampler.epoch(), index));
    }
    if (augmenter) augmenter->apply(x, image_keys);
    const Tensor& logits = model.forward(x, /*training=*/true, image_keys);
    double loss = criterion.forward(logits, labels, dlogits);
    model.backward(dlogits);
    synchronize_gradients(options, block, loss);
    // Before the step, so that a NaN never reaches the weights.
    check_step_is_finite(loss, model, x, it);
    loss_sum += loss;
    ++loss_count;
    optimizer->step();
    result.images += labels.size();

    if (options.report_every > 0 && (it % options.report_every == 0 || it == total)) {
      result.last_loss = loss_sum / static_cast<double>(loss_count);
      if (on_progress) {
        on_progress({it, total, sampler.epoch(), result.last_loss,
                     optimizer->current_learning_rate(), elapsed(), result.images});
      }
      loss_sum = 0.0;
      loss_count = 0;
    }

    if (it < total && options.finish_early && options.finish_early()) {
      result.stopped_early = true;
      result.iterations = it;
      break;
    }
    const bool stop = options.stop_requested != nullptr && options.stop_requested->load();
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

double evaluate(Sequential& model, const Dataset& data, std::size_t batch_size) {
  if (batch_size == 0) throw std::invalid_argument("batch size must be positive");
  check_model_fits(model, data);
  Tensor x;
  std::vector<std::int32_t> labels;
  std::size_t correct = 0;
  for (std::size_t begin = 0; begin < data.size(); begin += batch_size) {
    const std::size_t count = std::min(batch_size, data.size() - begin);
    data.gather_range(begin, count, x, labels);
    const Tensor& logits = model.forward(x, /*training=*/false);
    const std::size_t classes = logits.dim(1);
    for (std::size_t n = 0; n < count; ++n) {
      const float* row = logits.data() + n * classes;
      const auto predicted = std::max_element(row, row + classes) - row;
      if (predicted == labels[n]) ++correct;
    }
  }
  return static_cast<double>(correct) / static_cast<double>(data.size());
}

}  // namespace cnn
