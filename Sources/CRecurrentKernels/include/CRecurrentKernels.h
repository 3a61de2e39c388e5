#ifndef AIRLOCK_CRECURRENTKERNELS_H
#define AIRLOCK_CRECURRENTKERNELS_H

/// One direction of a GRU layer as Paddle's `dynamic_gru` computes it (origin_mode false), over the rows
/// [first, last) of `projected` (each row 3·hidden wide: the update, reset and candidate inputs, biases added):
///
///     u = σ(x_u + h·W_u),  r = σ(x_r + h·W_r),  c = tanh(x_c + (r ⊙ h)·W_c),  h = (1 − u) ⊙ h + u ⊙ c
///
/// from h = 0, forward or (`reverse` non-zero) backward. `gates` is W_u and W_r side by side, hidden × 2·hidden
/// row-major; `candidate` is W_c, hidden × hidden. Each h_t is written to `states + row * stride + offset`.
/// Runs on the calling thread: AVX2 and FMA when the CPU has them (checked once) and hidden is a multiple of 64, a
/// portable loop otherwise.
void airlock_gru(const float *projected, int first, int last, int reverse, int hidden, const float *gates,
                 const float *candidate, float *states, int stride, int offset);

/// The same by one kernel (tests compare them): 0 the portable loop, 1 AVX2/FMA. Returns 0 without computing
/// when this CPU or this size cannot use `level`, else 1.
int airlock_gru_at_level(int level, const float *projected, int first, int last, int reverse, int hidden,
                         const float *gates, const float *candidate, float *states, int stride, int offset);

/// Both directions of a bidirectional layer at once (independent chains interleaved), as two `airlock_gru` calls
/// would compute them: the forward states into columns [0, hidden) of `states`, the backward into [hidden,
/// 2·hidden), rows 2·hidden wide. Only with AVX-512 and hidden = 128; returns 0 (computing nothing) otherwise.
int airlock_bigru(const float *forward_projected, const float *backward_projected, int first, int last, int hidden,
                  const float *forward_gates, const float *forward_candidate, const float *backward_gates,
                  const float *backward_candidate, float *states);

#endif
