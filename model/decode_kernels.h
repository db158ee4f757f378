// Small CPU kernels of the decode step (DecodeStep), where each ATen call costs more in
// overhead than in arithmetic: RMSNorm of the [B,C] rows, RoPE with the cache write, and
// SwiGLU's activation.
// float32 on a CPU with AVX2 + FMA (decode_kernels_supported); DecodeStep uses the ATen
// operations otherwise.
#pragma once

#include <ATen/Tensor.h>

namespace fw::model {

bool decode_kernels_supported(const at::Tensor& x);

// x [B,C] -> weight * (x * rsqrt(mean(x^2) + eps)), as RMSNorm in float32: the same
// operations, except that the mean's sum adds in another order (last-bit differences).
at::Tensor rms_norm_rows(const at::Tensor& x, const at::Tensor& weight, double eps);

// qkv [B,(H+2Hkv)*D] (q, k, v heads side by side, as FusedLinear gives them): rotates q
// and k by cos and the signed sin [B,D] (RopeTable rows) with exactly apply_rope_signed's
// arithmetic, writes k and v into slot `slot` of keys/values [B,Hkv,S_max,D], and returns
// the rotated q [B,H,D].
at::Tensor rope_into_cache(const at::Tensor& qkv, const at::Tensor& cos, const at::Tensor& signed_sin, int64_t H,
                           int64_t Hkv, at::Tensor& keys, at::Tensor& values, int64_t slot);

// gate_up [B,2I] (gate, then up, as FusedLinear gives them) -> silu(gate) * up [B,I],
// silu(g) = g / (1 + exp(-g)) as ATen computes it, with avx2_exp's exp (within 2 ulp).
at::Tensor silu_mul(const at::Tensor& gate_up);

}  // namespace fw::model
