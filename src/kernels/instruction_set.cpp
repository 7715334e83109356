#include "cnn/core/instruction_set.hpp"

#include "tiles.hpp"

namespace cnn {

InstructionSet compiled_instruction_set() {
#if defined(__AVX512F__)
  return {"AVX-512", kernels::tiles::kLanes};
#elif defined(__AVX2__) && defined(__FMA__)
  return {"AVX2+FMA", kernels::tiles::kLanes};
#elif defined(__AVX__)
  return {"AVX", kernels::tiles::kLanes};
#elif defined(__SSE2__)
  return {"SSE2", kernels::tiles::kLanes};
#else
  return {"scalar/compiler default", kernels::tiles::kLanes};
#endif
}

// Kept to feature tests only: this runs before anything else, so it must not itself need the
// instructions it checks for.
const char* missing_cpu_feature() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
#if defined(__AVX512F__)
  if (!__builtin_cpu_supports("avx512f")) return "avx512f";
#endif
#if defined(__AVX512BW__)
  if (!__builtin_cpu_supports("avx512bw")) return "avx512bw";
#endif
#if defined(__AVX512VL__)
  if (!__builtin_cpu_supports("avx512vl")) return "avx512vl";
#endif
#if defined(__AVX512DQ__)
  if (!__builtin_cpu_supports("avx512dq")) return "avx512dq";
#endif
#if defined(__AVX2__)
  if (!__builtin_cpu_supports("avx2")) return "avx2";
#endif
#if defined(__FMA__)
  if (!__builtin_cpu_supports("fma")) return "fma";
#endif
#if defined(__AVX__)
  if (!__builtin_cpu_supports("avx")) return "avx";
#endif
#endif
  return nullptr;
}

}  // namespace cnn
