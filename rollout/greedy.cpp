#include "rollout/greedy.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <atomic>
#include <cmath>
#include <limits>

#include "core/avx2_exp.h"
#include "rollout/sampling.h"

namespace fw::rollout {
namespace {

std::pair<at::Tensor, at::Tensor> greedy_aten(const at::Tensor& logits) {
  at::Tensor next = logits.argmax(-1);
  return {next, sampled_logprobs(logits, next, 0.0)};
}

#ifdef FW_HAVE_AVX2_EXP
// One row x[0, V): its first maximal index and -log(sum exp(x - max)). False if it holds NaN.
__attribute__((target("avx2,fma"))) bool greedy_row(const float* x, int64_t V, int64_t* index, float* logp) {
  const int64_t vec_end = V / 8 * 8;
  __m256 m8 = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
  __m256 nan8 = _mm256_setzero_ps();
  for (int64_t i = 0; i < vec_end; i += 8) {
    const __m256 v = _mm256_loadu_ps(x + i);
    m8 = _mm256_max_ps(m8, v);
    nan8 = _mm256_or_ps(nan8, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
  }
  if (_mm256_movemask_ps(nan8)) return false;
  float m = avx2_max(m8);
  for (int64_t i = vec_end; i < V; ++i) {
    if (std::isnan(x[i])) return false;
    m = std::max(m, x[i]);
  }
  int64_t first = V;
  const __m256 mv = _mm256_set1_ps(m);
  for (int64_t i = 0; i < vec_end && first == V; i += 8)
    if (const int bits = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(x + i), mv, _CMP_EQ_OQ)))
      first = i + __builtin_ctz(static_cast<unsigned>(bits));
  for (int64_t i = vec_end; i < V && first == V; ++i)
    if (x[i] == m) first = i;
  __m256 sum8 = _mm256_setzero_ps();
  for (int64_t i = 0; i < vec_end; i += 8) sum8 = _mm256_add_ps(sum8, avx2_exp(_mm256_sub_ps(_mm256_loadu_ps(x + i), mv)));
  float sum = avx2_sum(sum8);
  for (int64_t i = vec_end; i < V; ++i) sum += std::exp(x[i] - m);
  *index = first;
  *logp = -std::log(sum);  // log_softmax at the maximum: (m - m) - log(sum)
  return true;
}
#endif

}  // namespace

std::pair<at::Tensor, at::Tensor> greedy_next(const at::Tensor& logits) {
#ifdef FW_HAVE_AVX2_EXP
  const auto t = logits.scalar_type();
  if (!(cpu_has_avx2_fma() && logits.is_cpu() && (t == at::kFloat || t == at::kBFloat16) && logits.dim() == 2))
    return greedy_aten(logits);
  // bfloat16 widens exactly, so the maximum and its index are the same; sampled_logprobs
  // takes the log-softmax in float32 too. (ATen's argmax over bfloat16 took ~1.6 ms a step.)
  at::Tensor x = logits.to(at::kFloat).contiguous();
  const int64_t B = x.size(0), V = x.size(1);
  if (V == 0) return greedy_aten(logits);
  at::Tensor next = at::empty({B}, x.options().dtype(at::kLong));
  at::Tensor logp = at::empty({B}, x.options());
  std::atomic<bool> ok{true};
  const float* px = x.data_ptr<float>();
  int64_t* pn = next.data_ptr<int64_t>();
  float* pl = logp.data_ptr<float>();
  at::parallel_for(0, B, std::max<int64_t>(1, 65536 / V), [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b)
      if (!greedy_row(px + b * V, V, pn + b, pl + b)) ok = false;
  });
  if (!ok) return greedy_aten(logits);  // NaN somewhere: at::argmax decides what that picks
  return {next, logp};
#else
  return greedy_aten(logits);
#endif
}

}  // namespace fw::rollout
