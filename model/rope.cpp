#include "model/rope.h"

#include <ATen/ATen.h>

#include <cmath>

namespace fw::model {

at::Tensor rope_inv_freq(const RopeConfig& rope, int64_t head_dim) {
  at::Tensor exponents = at::arange(0, head_dim, 2, at::kLong).to(at::kFloat) / static_cast<double>(head_dim);
  at::Tensor inv_freq = 1.0 / at::pow(rope.theta, exponents);
  if (rope.type == "linear") return inv_freq / rope.factor;
  if (rope.type != "llama3") return inv_freq;

  // Llama 3.1: long wavelengths are divided by `factor`, short ones kept, and the band
  // between low_freq_wavelen and high_freq_wavelen interpolated smoothly.
  const double old_len = static_cast<double>(rope.original_max_position_embeddings);
  const double low_freq_wavelen = old_len / rope.low_freq_factor;
  const double high_freq_wavelen = old_len / rope.high_freq_factor;
  at::Tensor wavelen = 2 * M_PI / inv_freq;
  at::Tensor scaled = at::where(wavelen > low_freq_wavelen, inv_freq / rope.factor, inv_freq);
  at::Tensor smooth = (old_len / wavelen - rope.low_freq_factor) / (rope.high_freq_factor - rope.low_freq_factor);
  at::Tensor smoothed = (1 - smooth) * scaled / rope.factor + smooth * scaled;
  at::Tensor medium = (wavelen >= high_freq_wavelen).logical_and(wavelen <= low_freq_wavelen);
  return at::where(medium, smoothed, scaled);
}

std::pair<at::Tensor, at::Tensor> rope_cos_sin(const at::Tensor& inv_freq, const at::Tensor& position_ids,
                                               at::ScalarType dtype) {
  // [B,T,1] * [D/2] -> [B,T,D/2]; doubled to [B,T,D] for the rotate-half layout.
  at::Tensor freqs = position_ids.to(at::kFloat).unsqueeze(-1) * inv_freq.to(position_ids.device());
  at::Tensor emb = at::cat({freqs, freqs}, -1);
  return {emb.cos().to(dtype), emb.sin().to(dtype)};
}

at::Tensor apply_rope(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
  const int64_t half = x.size(-1) / 2;
  at::Tensor x1 = x.narrow(-1, 0, half);
  at::Tensor x2 = x.narrow(-1, half, half);
  at::Tensor rotated = at::cat({-x2, x1}, -1);
  return x * cos.unsqueeze(1) + rotated * sin.unsqueeze(1);
}

std::pair<at::Tensor, at::Tensor> rope_rows_direct(const at::Tensor& inv_freq, const at::Tensor& positions,
                                                   at::ScalarType dtype) {
  auto [cos, sin] = rope_cos_sin(inv_freq.to(positions.device()), positions.unsqueeze(0), dtype);
  cos = cos.squeeze(0);
  sin = sin.squeeze(0).clone();
  sin.narrow(-1, 0, sin.size(-1) / 2).neg_();
  return {cos, sin};
}

std::pair<at::Tensor, at::Tensor> RopeTable::rows(const at::Tensor& inv_freq, const at::Tensor& positions,
                                                  int64_t bound, at::ScalarType dtype) {
  const auto device = positions.device();
  if (!cos_.defined() || cos_.size(0) < bound || cos_.scalar_type() != dtype || cos_.device() != device) {
    int64_t n = 64;
    while (n < bound) n *= 2;  // grows by doubling: a few rebuilds in a table's life
    std::tie(cos_, sin_) =
        rope_rows_direct(inv_freq, at::arange(n, at::TensorOptions().dtype(at::kLong).device(device)), dtype);
  }
  return {cos_.index_select(0, positions), sin_.index_select(0, positions)};
}

at::Tensor apply_rope_signed(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& signed_sin) {
  const int64_t half = x.size(-1) / 2;
  at::Tensor swapped = at::cat({x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
  return (x * cos).add_(swapped.mul_(signed_sin));
}

}  // namespace fw::model
