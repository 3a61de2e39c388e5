#ifndef AIRLOCK_CQUANTKERNELS_H
#define AIRLOCK_CQUANTKERNELS_H

#include <stdint.h>

/// A matrix of `outputs` rows by `inputs` columns in 4-bit blocks of 32 weights (Q4_0 values, repacked):
/// `nibbles` holds inputs/2 bytes per row, byte j of a block weight j in its low nibble and weight j + 16 in its
/// high one; `scales` holds inputs/32 floats per row. Weight = (nibble - 8) * scale.
///
/// output[r][o] = input[r] · weight[o] (+ output[r][o] when `accumulate` is non-zero), for r < rows, o < outputs.
/// `inputs` must be a multiple of 32. The work runs on the calling thread; AVX2 and FMA are used when the CPU
/// has them (checked once), a portable loop otherwise.
void airlock_q4_linear(const uint8_t *nibbles, const float *scales, int outputs, int inputs,
                       const float *input, int rows, float *output, int accumulate);

/// The same product by one kernel (tests compare them): 0 the portable loop, 1 AVX2/FMA, 2 AVX2/FMA with
/// AVX-512VL's 32 registers. Returns 0 without computing when this CPU lacks what `level` needs, else 1.
int airlock_q4_linear_at_level(int level, const uint8_t *nibbles, const float *scales, int outputs, int inputs,
                               const float *input, int rows, float *output, int accumulate);

/// Dequantizes `blocks` blocks of one such row into `out` (32 floats per block).
void airlock_q4_dequantize_row(const uint8_t *nibbles, const float *scales, int blocks, float *out);

/// Dequantizes `count` consecutive rows of `inputs` weights each (AVX2 when available) into `out`, row-major.
void airlock_q4_dequantize_rows(const uint8_t *nibbles, const float *scales, int count, int inputs, float *out);

#endif
