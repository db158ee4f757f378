#include "model/panel_linear.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/core/grad_mode.h>

#include <algorithm>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define FW_PANEL_AVX512 1
#endif

namespace fw::model {
namespace {

constexpr int64_t kVectors = 3;              // zmm vectors of output columns per panel
constexpr int64_t kPanel = 16 * kVectors;    // output columns per panel
constexpr int64_t kRows = 8;                 // rows per tile: 8 x 3 accumulators

#ifdef FW_PANEL_AVX512
bool cpu_has_avx512f() {
  static const bool ok = __builtin_cpu_supports("avx512f");
  return ok;
}

// One tile: rows [0,MR) of a packed row block xp [K][MR] times one panel wp [K][48] into
// y (row stride ldy), columns [0, cols). While it runs, it prefetches its share of the next
// panel into L2: the row blocks of a panel together prefetch every line of it once
// (`share` = which block this is, of `blocks`).
template <int MR>
__attribute__((target("avx512f"))) void tile(const float* __restrict xp, const float* __restrict wp, int64_t K,
                                             const float* bias, float* __restrict y, int64_t ldy, int64_t cols,
                                             const float* next, int64_t share, int64_t blocks) {
  __m512 acc[MR][kVectors];
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < kVectors; ++j) acc[i][j] = _mm512_setzero_ps();
  const int64_t first = share * K;
  for (int64_t k = 0; k < K; ++k) {
    if (next) {  // this step's share of the next panel: 48 / blocks floats
      const float* share_k = next + (first + k) * kPanel / blocks;
      _mm_prefetch(reinterpret_cast<const char*>(share_k), _MM_HINT_T1);
      // Under 3 blocks a share spans more than one 64-byte line (16 floats): fetch them all.
      for (int64_t f = 16; blocks < 3 && f < kPanel / blocks; f += 16)
        _mm_prefetch(reinterpret_cast<const char*>(share_k + f), _MM_HINT_T1);
    }
    const __m512 w0 = _mm512_loadu_ps(wp + k * kPanel);
    const __m512 w1 = _mm512_loadu_ps(wp + k * kPanel + 16);
    const __m512 w2 = _mm512_loadu_ps(wp + k * kPanel + 32);
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
      const __m512 x = _mm512_set1_ps(xp[k * MR + i]);
      acc[i][0] = _mm512_fmadd_ps(x, w0, acc[i][0]);
      acc[i][1] = _mm512_fmadd_ps(x, w1, acc[i][1]);
      acc[i][2] = _mm512_fmadd_ps(x, w2, acc[i][2]);
    }
  }
  for (int j = 0; j < kVectors; ++j) {
    const int64_t c = std::min<int64_t>(16, cols - 16 * j);
    if (c <= 0) break;
    const __mmask16 keep = c == 16 ? __mmask16(0xFFFF) : __mmask16((1u << c) - 1);
    const __m512 b = bias ? _mm512_loadu_ps(bias + 16 * j) : _mm512_setzero_ps();
    for (int i = 0; i < MR; ++i) _mm512_mask_storeu_ps(y + i * ldy + 16 * j, keep, _mm512_add_ps(acc[i][j], b));
  }
}

using TileFn = void (*)(const float*, const float*, int64_t, const float*, float*, int64_t, int64_t, const float*,
                        int64_t, int64_t);
constexpr TileFn kTiles[kRows + 1] = {nullptr,  tile<1>, tile<2>, tile<3>, tile<4>,
                                      tile<5>, tile<6>, tile<7>, tile<8>};
#else
bool cpu_has_avx512f() { return false; }  // not an x86-64 build: the callers keep their other paths
#endif

}  // namespace

bool PanelWeight::supported(const at::Tensor& weight) {
  return cpu_has_avx512f() && weight.is_cpu() && weight.dim() == 2 && weight.scalar_type() == at::kFloat;
}

PanelWeight::PanelWeight(const at::Tensor& weight, const std::optional<at::Tensor>& bias)
    : n_(weight.size(0)), k_(weight.size(1)) {
  TORCH_CHECK(supported(weight), "PanelWeight: needs a CPU float32 matrix and AVX-512F");
  at::NoGradGuard no_grad;
  const int64_t panels = (n_ + kPanel - 1) / kPanel, padded = panels * kPanel, full = n_ / kPanel;
  // One pass over the weight: whole panels by a transposing copy, the last one zero-padded.
  const at::Tensor w = weight.contiguous();
  panels_ = at::empty({panels, k_, kPanel}, w.options());
  if (full > 0) panels_.narrow(0, 0, full).copy_(w.narrow(0, 0, full * kPanel).view({full, kPanel, k_}).transpose(1, 2));
  if (full < panels) {
    at::Tensor last = panels_.select(0, full).zero_();  // [K, 48]
    last.narrow(1, 0, n_ - full * kPanel).copy_(w.narrow(0, full * kPanel, n_ - full * kPanel).t());
  }
  if (bias && bias->defined()) {
    bias_ = at::zeros({padded}, weight.options());
    bias_.narrow(0, 0, n_).copy_(*bias);
  }
}

at::Tensor PanelWeight::forward(const at::Tensor& x_in) const {
  TORCH_CHECK(x_in.dim() == 2 && x_in.size(1) == k_ && x_in.is_cpu() && x_in.scalar_type() == at::kFloat,
              "PanelWeight: expected float32 [M,", k_, "] on the CPU, got ", x_in.sizes());
  const int64_t M = x_in.size(0);
  at::Tensor out = at::empty({M, n_}, x_in.options());
  if (M == 0) return out;
#ifdef FW_PANEL_AVX512
  const int64_t K = k_, N = n_;
  // x in blocks of 8 rows, each k-major ([K][rows]), so a tile's broadcasts read in order.
  const at::Tensor x = x_in.contiguous();
  const int64_t blocks = (M + kRows - 1) / kRows;
  at::Tensor packed = at::empty({blocks * kRows * K}, x.options());
  const float* xs = x.data_ptr<float>();
  float* xp = packed.data_ptr<float>();
  for (int64_t b = 0; b < blocks; ++b) {
    const int64_t rows = std::min(kRows, M - b * kRows);
    float* dst = xp + b * kRows * K;
    for (int64_t i = 0; i < rows; ++i) {
      const float* src = xs + (b * kRows + i) * K;
      for (int64_t k = 0; k < K; ++k) dst[k * rows + i] = src[k];
    }
  }
  const float* wp = panels_.data_ptr<float>();
  const float* bias = bias_.defined() ? bias_.data_ptr<float>() : nullptr;
  float* y = out.data_ptr<float>();
  const int64_t panels = panels_.size(0);
  at::parallel_for(0, panels, 1, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const float* panel = wp + p * K * kPanel;
      const float* next = p + 1 < panels ? panel + K * kPanel : nullptr;
      const int64_t cols = std::min(kPanel, N - p * kPanel);
      for (int64_t b = 0; b < blocks; ++b) {
        const int64_t rows = std::min(kRows, M - b * kRows);
        kTiles[rows](xp + b * kRows * K, panel, K, bias ? bias + p * kPanel : nullptr, y + b * kRows * N + p * kPanel,
                     N, cols, next, b, blocks);
      }
    }
  });
#else
  TORCH_CHECK(false, "PanelWeight: built without its x86-64 kernel");
#endif
  return out;
}

}  // namespace fw::model
