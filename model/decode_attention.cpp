#include "model/decode_attention.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "core/avx2_exp.h"

#ifdef FW_HAVE_AVX2_EXP
#define FW_DECODE_ATTENTION_AVX2 1
#endif

namespace fw::model {

#ifdef FW_DECODE_ATTENTION_AVX2
namespace {

// Eight cache entries as floats: float32 as they are, bfloat16 (its bits, uint16_t)
// widened exactly (a bfloat16 is the top half of a float32).
__attribute__((target("avx2,fma"), always_inline)) inline __m256 load8(const float* p) { return _mm256_loadu_ps(p); }
__attribute__((target("avx2,fma"), always_inline)) inline __m256 load8(const uint16_t* p) {
  const __m256i wide = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  return _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16));
}

// The shape of one call; pointers to the start of each tensor. T: the cache's element
// (float, or uint16_t for bfloat16); the query and the output are float32.
template <class T>
struct Problem {
  int64_t H, Hkv, G, D, s_max, first, n;  // G = H / Hkv query heads per key/value head
  int64_t q_batch_stride, q_head_stride;
  const float* q;
  const T *k, *v;
  const bool* valid;  // [B,S_max] or null
  float scale;
};

// Eight dot products at once, q . k[j * D] for j < 8, as one vector. Eight independent
// accumulators keep the FMA units busy; the horizontal sums share their shuffles.
template <class T>
__attribute__((target("avx2,fma"), always_inline)) inline __m256 dot8(const float* q, const T* k, int64_t D) {
  __m256 acc[8];  // fully unrolled, so the accumulators live in registers
#pragma GCC unroll 8
  for (int j = 0; j < 8; ++j) acc[j] = _mm256_setzero_ps();
  for (int64_t d = 0; d < D; d += 8) {
    const __m256 qd = _mm256_loadu_ps(q + d);
#pragma GCC unroll 8
    for (int j = 0; j < 8; ++j) acc[j] = _mm256_fmadd_ps(qd, load8(k + j * D + d), acc[j]);
  }
  // hadd pairs within 128-bit lanes: x = [k0 k1 k2 k3 | k0 k1 k2 k3] partial sums, y for k4..k7.
  const __m256 x = _mm256_hadd_ps(_mm256_hadd_ps(acc[0], acc[1]), _mm256_hadd_ps(acc[2], acc[3]));
  const __m256 y = _mm256_hadd_ps(_mm256_hadd_ps(acc[4], acc[5]), _mm256_hadd_ps(acc[6], acc[7]));
  return _mm256_add_ps(_mm256_permute2f128_ps(x, y, 0x20), _mm256_permute2f128_ps(x, y, 0x31));
}

template <class T>
__attribute__((target("avx2,fma"), always_inline)) inline float dot(const float* a, const T* b, int64_t D) {
  __m256 acc = _mm256_mul_ps(_mm256_loadu_ps(a), load8(b));
  for (int64_t d = 8; d < D; d += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(a + d), load8(b + d), acc);
  return avx2_sum(acc);
}

// w[0, n) = softmax(scale * q . k_s), masked slots 0.
template <class T>
__attribute__((target("avx2,fma"))) void softmax_scores(const Problem<T>& p, const float* q, const T* k,
                                                         const bool* valid, float* w) {
  const float neg_inf = -std::numeric_limits<float>::infinity();
  const __m256 scale = _mm256_set1_ps(p.scale);
  int64_t s = 0;
  for (; s + 8 <= p.n; s += 8) _mm256_storeu_ps(w + s, _mm256_mul_ps(dot8(q, k + s * p.D, p.D), scale));
  for (; s < p.n; ++s) w[s] = dot(q, k + s * p.D, p.D) * p.scale;
  if (valid)
    for (s = 0; s < p.n; ++s)
      if (!valid[s]) w[s] = neg_inf;
  // The query's own slot is always valid, so the maximum is finite.
  __m256 m8 = _mm256_set1_ps(neg_inf);
  for (s = 0; s + 8 <= p.n; s += 8) m8 = _mm256_max_ps(m8, _mm256_loadu_ps(w + s));
  float m = avx2_max(m8);
  for (; s < p.n; ++s) m = std::max(m, w[s]);
  const __m256 mv = _mm256_set1_ps(m);
  __m256 sum8 = _mm256_setzero_ps();
  for (s = 0; s + 8 <= p.n; s += 8) {
    const __m256 e = avx2_exp(_mm256_sub_ps(_mm256_loadu_ps(w + s), mv));
    _mm256_storeu_ps(w + s, e);
    sum8 = _mm256_add_ps(sum8, e);
  }
  float sum = avx2_sum(sum8);
  for (; s < p.n; ++s) sum += (w[s] = std::exp(w[s] - m));
  const __m256 inv = _mm256_set1_ps(1.0f / sum);
  for (s = 0; s + 8 <= p.n; s += 8) _mm256_storeu_ps(w + s, _mm256_mul_ps(_mm256_loadu_ps(w + s), inv));
  for (; s < p.n; ++s) w[s] *= 1.0f / sum;
}

// out[0, D) = sum over s of w[s] * v_s. Four accumulators per 8 columns, over
// interleaved keys, hide the FMA latency.
template <class T>
__attribute__((target("avx2,fma"))) void weighted_values(const Problem<T>& p, const float* w, const T* v, float* out) {
  for (int64_t d = 0; d < p.D; d += 8) {
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
    int64_t s = 0;
    for (; s + 4 <= p.n; s += 4)
#pragma GCC unroll 4
      for (int j = 0; j < 4; ++j)
        acc[j] = _mm256_fmadd_ps(_mm256_set1_ps(w[s + j]), load8(v + (s + j) * p.D + d), acc[j]);
    for (; s < p.n; ++s) acc[0] = _mm256_fmadd_ps(_mm256_set1_ps(w[s]), load8(v + s * p.D + d), acc[0]);
    _mm256_storeu_ps(out + d, _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3])));
  }
}

// out [B,H*D] for the (batch, key/value head) pairs [begin, end).
template <class T>
void attend(const Problem<T>& p, float* out, int64_t begin, int64_t end) {
  std::vector<float> w(p.n);
  for (int64_t bk = begin; bk < end; ++bk) {
    const int64_t b = bk / p.Hkv, kvh = bk % p.Hkv;
    const T* k = p.k + (bk * p.s_max + p.first) * p.D;
    const T* v = p.v + (bk * p.s_max + p.first) * p.D;
    const bool* valid = p.valid ? p.valid + b * p.s_max + p.first : nullptr;
    for (int64_t h = kvh * p.G; h < (kvh + 1) * p.G; ++h) {
      softmax_scores(p, p.q + b * p.q_batch_stride + h * p.q_head_stride, k, valid, w.data());
      weighted_values(p, w.data(), v, out + (b * p.H + h) * p.D);
    }
  }
}

template <class T>
at::Tensor run(const at::Tensor& qf, const T* keys, const T* values, int64_t Hkv, int64_t s_max, int64_t first,
               int64_t end, const at::Tensor& valid) {
  const int64_t B = qf.size(0), H = qf.size(1), D = qf.size(2);
  Problem<T> p{H, Hkv, H / Hkv, D, s_max, first, end - first, qf.stride(0), qf.stride(1),
               qf.data_ptr<float>(), keys, values, valid.defined() ? valid.data_ptr<bool>() : nullptr,
               static_cast<float>(1.0 / std::sqrt(double(D)))};
  // Enough (batch, head) pairs per task that a thread's share outweighs waking it.
  const int64_t grain = std::max<int64_t>(1, 16384 / std::max<int64_t>(1, p.G * p.n * D));
  at::Tensor out = at::empty({B, H * D}, qf.options());
  at::parallel_for(0, B * Hkv, grain, [&](int64_t b, int64_t e) { attend(p, out.data_ptr<float>(), b, e); });
  return out;
}

}  // namespace
#endif

bool decode_attention_supported(const at::Tensor& q) {
#ifdef FW_DECODE_ATTENTION_AVX2
  const auto t = q.scalar_type();
  return cpu_has_avx2_fma() && q.is_cpu() && (t == at::kFloat || t == at::kBFloat16) && q.size(-1) % 8 == 0;
#else
  (void)q;
  return false;
#endif
}

at::Tensor decode_attention(const at::Tensor& q, const at::Tensor& keys, const at::Tensor& values, int64_t first,
                            int64_t end, const at::Tensor& key_valid) {
  TORCH_CHECK(decode_attention_supported(q), "decode_attention: unsupported input");
  TORCH_CHECK(keys.is_contiguous() && values.is_contiguous() && q.stride(-1) == 1, "decode_attention: layout");
#ifdef FW_DECODE_ATTENTION_AVX2
  TORCH_CHECK(keys.scalar_type() == q.scalar_type() && values.scalar_type() == q.scalar_type(),
              "decode_attention: the cache and the query differ in dtype");
  const at::Tensor valid = key_valid.defined() ? key_valid.contiguous() : at::Tensor();
  const int64_t Hkv = keys.size(1), s_max = keys.size(2);
  if (q.scalar_type() == at::kFloat)
    return run(q, keys.data_ptr<float>(), values.data_ptr<float>(), Hkv, s_max, first, end, valid);
  // bfloat16: the query (a few rows) to float32, the cache read as it is, the sums in float32.
  static_assert(sizeof(at::BFloat16) == sizeof(uint16_t));
  const auto* k = reinterpret_cast<const uint16_t*>(keys.data_ptr<at::BFloat16>());
  const auto* v = reinterpret_cast<const uint16_t*>(values.data_ptr<at::BFloat16>());
  return run(q.to(at::kFloat), k, v, Hkv, s_max, first, end, valid).to(at::kBFloat16);
#else
  return at::Tensor();
#endif
}

}  // namespace fw::model
