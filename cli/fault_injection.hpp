// Fault injection for the tests of data-parallel training (docs/scale-out.md): the environment
// variable CNN_FAULT_INJECTION="KIND@RANK:ITERATION" makes process RANK misbehave right after the
// backward pass of ITERATION, so that tests can check that a job with a failing process ends
// within seconds instead of hanging. KIND is
//   error  the process throws (as a failed read or a bug would)
//   nan    the process's first gradient becomes NaN (only there: the sum makes every process see
//   it) drift  the process's first weight moves by 0.001 (the replica check must find it) kill the
//   process sends itself SIGKILL
// Unset or empty: nothing happens (the hook is empty).
#pragma once

#include <cstddef>
#include <functional>

#include "cnn/nn/parameter_block.hpp"

namespace cnn::cli {

// The hook for TrainOptions::after_backward on process `rank`; throws UsageError naming the
// variable for a value it cannot read.
std::function<void(std::size_t iteration, ParameterBlock& block)> fault_injection_from_environment(
    std::size_t rank);

}  // namespace cnn::cli
