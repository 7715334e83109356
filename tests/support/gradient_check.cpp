#include "gradient_check.hpp"

#include <cmath>
#include <sstream>

#include "cnn/core/rng.hpp"

namespace cnn::testing {

Tensor random_tensor(const Shape& shape, std::uint64_t seed, float low, float high) {
  Tensor t(shape);
  Rng rng(seed);
  for (std::size_t i = 0; i < t.size(); ++i) {
    t[i] = low + (high - low) * static_cast<float>(rng.uniform());
  }
  return t;
}

::testing::AssertionResult compare_gradient(const std::string& name, Tensor& value,
                                            const Tensor& analytic,
                                            const std::function<double()>& loss,
                                            const GradCheckOptions& options) {
  if (!(value.shape() == analytic.shape())) {
    return ::testing::AssertionFailure()
           << name << ": gradient shape " << analytic.shape().to_string() << " differs from "
           << value.shape().to_string();
  }
  std::size_t failures = 0;
  std::ostringstream report;
  for (std::size_t i = 0; i < value.size(); ++i) {
    const float original = value[i];
    value[i] = static_cast<float>(original + options.step);
    const double plus = loss();
    value[i] = static_cast<float>(original - options.step);
    const double minus = loss();
    value[i] = original;
    // Divide by the step actually taken in float, not the nominal one.
    const double taken = static_cast<double>(static_cast<float>(original + options.step)) -
                         static_cast<double>(static_cast<float>(original - options.step));
    const double numeric = (plus - minus) / taken;
    const double expected = analytic[i];
    if (std::abs(numeric - expected) > options.atol + options.rtol * std::abs(expected)) {
      if (failures < 5) {
        report << "\n  " << name << "[" << i << "]: analytic " << expected << ", numeric "
               << numeric;
      }
      ++failures;
    }
  }
  if (failures == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << failures << " of " << value.size() << " elements of "
                                       << name << " disagree:" << report.str();
}

double projected_loss(Layer& layer, const Tensor& x, const Tensor& r, Tensor& probe) {
  probe.resize(layer.output_shape(x.shape()));
  layer.forward(x, probe, true);
  double sum = 0.0;
  for (std::size_t i = 0; i < probe.size(); ++i) sum += double{r[i]} * probe[i];
  return sum;
}

void check_layer_gradients(Layer& layer, Tensor x, std::uint64_t seed,
                           const GradCheckOptions& options) {
  Tensor y(layer.output_shape(x.shape()));
  layer.forward(x, y, true);
  const Tensor r = random_tensor(y.shape(), seed);
  Tensor dx(x.shape());
  layer.backward(x, y, r, &dx);

  std::vector<Parameter> params = layer.parameters();
  std::vector<Tensor> analytic;
  for (const Parameter& p : params) analytic.push_back(*p.grad);

  Tensor probe(y.shape());
  const auto loss = [&] { return projected_loss(layer, x, r, probe); };
  EXPECT_TRUE(compare_gradient(layer.describe() + " dL/dx", x, dx, loss, options));
  for (std::size_t k = 0; k < params.size(); ++k) {
    EXPECT_TRUE(compare_gradient(layer.describe() + " dL/d" + params[k].name, *params[k].value,
                                 analytic[k], loss, options));
  }
}

}  // namespace cnn::testing
