#include "model/decode_kernels.h"

#include <ATen/ATen.h>

#include <cmath>
#include <cstring>

#include "core/avx2_exp.h"

namespace fw::model {

#ifdef FW_HAVE_AVX2_EXP
namespace {

__attribute__((target("avx2,fma"))) void rms_norm_kernel(const float* x, const float* w, float* out, int64_t B,
                                                          int64_t C, float eps) {
  const int64_t vec_end = C / 8 * 8;
  for (int64_t b = 0; b < B; ++b, x += C, out += C) {
    // Squares rounded before they are added (pow(2) then sum), no FMA.
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    int64_t c = 0;
    for (; c + 16 <= vec_end; c += 16) {
      const __m256 a = _mm256_loadu_ps(x + c), b2 = _mm256_loadu_ps(x + c + 8);
      acc0 = _mm256_add_ps(acc0, _mm256_mul_ps(a, a));
      acc1 = _mm256_add_ps(acc1, _mm256_mul_ps(b2, b2));
    }
    for (; c < vec_end; c += 8) {
      const __m256 a = _mm256_loadu_ps(x + c);
      acc0 = _mm256_add_ps(acc0, _mm256_mul_ps(a, a));
    }
    float ss = avx2_sum(_mm256_add_ps(acc0, acc1));
    for (; c < C; ++c) ss += x[c] * x[c];
    const float r = 1.0f / std::sqrt(ss / static_cast<float>(C) + eps);  // at::rsqrt is 1 / sqrt
    const __m256 rv = _mm256_set1_ps(r);
    for (c = 0; c < vec_end; c += 8)
      _mm256_storeu_ps(out + c, _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(x + c), rv), _mm256_loadu_ps(w + c)));
    for (; c < C; ++c) out[c] = (x[c] * r) * w[c];
  }
}

// out[d] = x[d] * cos[d] + x[(d + D/2) % D] * signed_sin[d]: two products and a sum,
// each rounded (no FMA), as the ATen operations.
__attribute__((target("avx2,fma"))) void rope_head(const float* x, const float* cos, const float* ssin, float* out,
                                                    int64_t D) {
  const int64_t half = D / 2;
  if (half % 8 == 0) {
    for (int64_t d = 0; d < D; d += 8) {
      const __m256 rot = _mm256_loadu_ps(x + (d < half ? d + half : d - half));
      const __m256 a = _mm256_mul_ps(_mm256_loadu_ps(x + d), _mm256_loadu_ps(cos + d));
      _mm256_storeu_ps(out + d, _mm256_add_ps(a, _mm256_mul_ps(rot, _mm256_loadu_ps(ssin + d))));
    }
    return;
  }
  for (int64_t d = 0; d < D; ++d) {
    const float a = x[d] * cos[d];
    const float b = x[d < half ? d + half : d - half] * ssin[d];
    out[d] = a + b;
  }
}

__attribute__((target("avx2,fma"))) void silu_mul_kernel(const float* gu, float* out, int64_t B, int64_t I) {
  const __m256 one = _mm256_set1_ps(1.0f), sign = _mm256_set1_ps(-0.0f);
  const int64_t vec_end = I / 8 * 8;
  for (int64_t b = 0; b < B; ++b, gu += 2 * I, out += I) {
    int64_t i = 0;
    for (; i < vec_end; i += 8) {
      const __m256 g = _mm256_loadu_ps(gu + i);
      const __m256 silu = _mm256_div_ps(g, _mm256_add_ps(one, avx2_exp(_mm256_xor_ps(g, sign))));
      _mm256_storeu_ps(out + i, _mm256_mul_ps(silu, _mm256_loadu_ps(gu + I + i)));
    }
    for (; i < I; ++i) out[i] = gu[i] / (1.0f + std::exp(-gu[i])) * gu[I + i];
  }
}

}  // namespace
#endif

bool decode_kernels_supported(const at::Tensor& x) {
#ifdef FW_HAVE_AVX2_EXP
  return cpu_has_avx2_fma() && x.is_cpu() && x.scalar_type() == at::kFloat;
#else
  (void)x;
  return false;
#endif
}

at::Tensor rms_norm_rows(const at::Tensor& x_in, const at::Tensor& weight_in, double eps) {
  TORCH_CHECK(decode_kernels_supported(x_in) && x_in.dim() == 2 && weight_in.scalar_type() == at::kFloat,
              "rms_norm_rows: unsupported input");
#ifdef FW_HAVE_AVX2_EXP
  const at::Tensor x = x_in.contiguous(), w = weight_in.contiguous();
  at::Tensor out = at::empty_like(x);
  rms_norm_kernel(x.data_ptr<float>(), w.data_ptr<float>(), out.data_ptr<float>(), x.size(0), x.size(1),
                  static_cast<float>(eps));
  return out;
#else
  return at::Tensor();
#endif
}

at::Tensor rope_into_cache(const at::Tensor& qkv_in, const at::Tensor& cos_in, const at::Tensor& ssin_in, int64_t H,
                           int64_t Hkv, at::Tensor& keys, at::Tensor& values, int64_t slot) {
  TORCH_CHECK(decode_kernels_supported(qkv_in) && keys.is_contiguous() && values.is_contiguous(),
              "rope_into_cache: unsupported input");
#ifdef FW_HAVE_AVX2_EXP
  const at::Tensor qkv = qkv_in.contiguous(), cos = cos_in.contiguous(), ssin = ssin_in.contiguous();
  const int64_t B = qkv.size(0), D = cos.size(-1), s_max = keys.size(2), row = (H + 2 * Hkv) * D;
  at::Tensor q = at::empty({B, H, D}, qkv.options());
  const float *x = qkv.data_ptr<float>(), *c = cos.data_ptr<float>(), *s = ssin.data_ptr<float>();
  float *qo = q.data_ptr<float>(), *ko = keys.data_ptr<float>(), *vo = values.data_ptr<float>();
  for (int64_t b = 0; b < B; ++b) {
    const float* xb = x + b * row;
    const float *cb = c + b * D, *sb = s + b * D;
    for (int64_t h = 0; h < H; ++h) rope_head(xb + h * D, cb, sb, qo + (b * H + h) * D, D);
    for (int64_t h = 0; h < Hkv; ++h) {
      const int64_t at_slot = ((b * Hkv + h) * s_max + slot) * D;
      rope_head(xb + (H + h) * D, cb, sb, ko + at_slot, D);
      std::memcpy(vo + at_slot, xb + (H + Hkv + h) * D, D * sizeof(float));
    }
  }
  return q;
#else
  return at::Tensor();
#endif
}

at::Tensor silu_mul(const at::Tensor& gate_up) {
  TORCH_CHECK(decode_kernels_supported(gate_up) && gate_up.dim() == 2, "silu_mul: unsupported input");
#ifdef FW_HAVE_AVX2_EXP
  const at::Tensor gu = gate_up.contiguous();
  const int64_t B = gu.size(0), I = gu.size(1) / 2;
  at::Tensor out = at::empty({B, I}, gu.options());
  silu_mul_kernel(gu.data_ptr<float>(), out.data_ptr<float>(), B, I);
  return out;
#else
  return at::Tensor();
#endif
}

}  // namespace fw::model
