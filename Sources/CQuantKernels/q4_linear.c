// 4-bit (Q4_0) weight × f32 activation products for the embedding encoder's dense layers.
//
// Why not dequantize once and call sgemm: multilingual-e5-small's twelve layers are 85 MB as f32 but 13 MB as
// 4-bit blocks, which stays in the last-level cache between calls, while every f32 GEMM streams the whole matrix
// from memory. The products are still f32 (activations are never rounded), so the result equals a product with
// the dequantized weights up to the order of the additions.
//
// Layout of the work: four weight rows at a time are dequantized into a small buffer (at most 4 x inputs floats,
// in L1 for the model's sizes), then a tile of accumulators runs over it: 4 outputs x 2 rows (8 registers) with
// AVX2, 4 x 4 (16) where AVX-512VL gives 32 vector registers. 512-bit instructions measured no faster (Zen 4 splits
// them in two).

#include "CQuantKernels.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define AIRLOCK_X86 1
#endif

void airlock_q4_dequantize_row(const uint8_t *nibbles, const float *scales, int blocks, float *out) {
    for (int b = 0; b < blocks; b++) {
        const uint8_t *q = nibbles + b * 16;
        const float s = scales[b];
        float *o = out + b * 32;
        for (int j = 0; j < 16; j++) {
            o[j] = (float)((int)(q[j] & 0x0F) - 8) * s;
            o[j + 16] = (float)((int)(q[j] >> 4) - 8) * s;
        }
    }
}

static void linear_portable(const uint8_t *nibbles, const float *scales, int outputs, int inputs,
                            const float *input, int rows, float *output, int accumulate, float *row) {
    const int blocks = inputs / 32;
    for (int o = 0; o < outputs; o++) {
        airlock_q4_dequantize_row(nibbles + (size_t)o * (inputs / 2), scales + (size_t)o * blocks, blocks, row);
        for (int r = 0; r < rows; r++) {
            const float *x = input + (size_t)r * inputs;
            float sum = 0;
            for (int k = 0; k < inputs; k++) sum += x[k] * row[k];
            float *y = output + (size_t)r * outputs + o;
            *y = accumulate ? *y + sum : sum;
        }
    }
}

#ifdef AIRLOCK_X86

__attribute__((target("avx2,fma"))) static inline void dequantize_row_avx2(const uint8_t *nibbles,
                                                                           const float *scales, int blocks,
                                                                           float *out) {
    const __m128i low = _mm_set1_epi8(0x0F);
    for (int b = 0; b < blocks; b++) {
        const __m128i packed = _mm_loadu_si128((const __m128i *)(nibbles + b * 16));
        const __m128i lo = _mm_and_si128(packed, low);
        const __m128i hi = _mm_and_si128(_mm_srli_epi16(packed, 4), low);
        const __m256 s = _mm256_set1_ps(scales[b]);
        const __m256 offset = _mm256_set1_ps(-8.0f * scales[b]);
        float *o = out + b * 32;
        // (nibble - 8) * s = nibble * s - 8s
        _mm256_storeu_ps(o, _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(lo)), s, offset));
        _mm256_storeu_ps(o + 8, _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(lo, 8))), s,
                                                offset));
        _mm256_storeu_ps(o + 16, _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(hi)), s, offset));
        _mm256_storeu_ps(o + 24, _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(hi, 8))), s,
                                                 offset));
    }
}

/// The four lane sums of a, b, c, d, in that order.
__attribute__((target("avx2,fma"))) static inline __m128 sums4(__m256 a, __m256 b, __m256 c, __m256 d) {
    const __m256 ab = _mm256_hadd_ps(a, b);
    const __m256 cd = _mm256_hadd_ps(c, d);
    const __m256 abcd = _mm256_hadd_ps(ab, cd);
    return _mm_add_ps(_mm256_castps256_ps128(abcd), _mm256_extractf128_ps(abcd, 1));
}

__attribute__((target("avx2,fma"))) static inline void store4(float *y, __m128 sums, int count, int accumulate) {
    if (count == 4) {
        if (accumulate) sums = _mm_add_ps(sums, _mm_loadu_ps(y));
        _mm_storeu_ps(y, sums);
        return;
    }
    float lanes[4];
    _mm_storeu_ps(lanes, sums);
    for (int j = 0; j < count; j++) y[j] = accumulate ? y[j] + lanes[j] : lanes[j];
}

/// Dequantizes weight rows o..o+3 into w (4 x inputs floats), zeros past the last row; returns how many are real.
__attribute__((target("avx2,fma"))) static int dequantize4(const uint8_t *nibbles, const float *scales, int outputs,
                                                           int inputs, int o, float *w) {
    const int blocks = inputs / 32;
    const size_t rowBytes = (size_t)inputs / 2;
    const int count = outputs - o < 4 ? outputs - o : 4;
    for (int j = 0; j < 4; j++) {
        float *dst = w + (size_t)j * inputs;
        if (j < count) {
            dequantize_row_avx2(nibbles + (size_t)(o + j) * rowBytes, scales + (size_t)(o + j) * blocks, blocks, dst);
        } else {
            memset(dst, 0, sizeof(float) * (size_t)inputs);
        }
    }
    return count;
}

/// One input row against the four dequantized weight rows: y[0..count) (+)= x · w_j.
__attribute__((target("avx2,fma"))) static void row4x1(const float *x, const float *w, int inputs, float *y, int count,
                                                      int accumulate) {
    const float *w0 = w, *w1 = w + inputs, *w2 = w + 2 * (size_t)inputs, *w3 = w + 3 * (size_t)inputs;
    __m256 c0 = _mm256_setzero_ps(), c1 = _mm256_setzero_ps(), c2 = _mm256_setzero_ps(), c3 = _mm256_setzero_ps();
    for (int k = 0; k < inputs; k += 8) {
        const __m256 a0 = _mm256_loadu_ps(x + k);
        c0 = _mm256_fmadd_ps(a0, _mm256_loadu_ps(w0 + k), c0);
        c1 = _mm256_fmadd_ps(a0, _mm256_loadu_ps(w1 + k), c1);
        c2 = _mm256_fmadd_ps(a0, _mm256_loadu_ps(w2 + k), c2);
        c3 = _mm256_fmadd_ps(a0, _mm256_loadu_ps(w3 + k), c3);
    }
    store4(y, sums4(c0, c1, c2, c3), count, accumulate);
}

__attribute__((target("avx2,fma"))) static void linear_avx2(const uint8_t *nibbles, const float *scales,
                                                            int outputs, int inputs, const float *input, int rows,
                                                            float *output, int accumulate, float *w) {
    float *w0 = w, *w1 = w + inputs, *w2 = w + 2 * (size_t)inputs, *w3 = w + 3 * (size_t)inputs;
    for (int o = 0; o < outputs; o += 4) {
        const int count = dequantize4(nibbles, scales, outputs, inputs, o, w);
        int r = 0;
        for (; r + 2 <= rows; r += 2) {
            const float *x0 = input + (size_t)r * inputs, *x1 = x0 + inputs;
            __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps(), c02 = _mm256_setzero_ps(),
                   c03 = _mm256_setzero_ps(), c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps(),
                   c12 = _mm256_setzero_ps(), c13 = _mm256_setzero_ps();
            for (int k = 0; k < inputs; k += 8) {
                const __m256 a0 = _mm256_loadu_ps(x0 + k), a1 = _mm256_loadu_ps(x1 + k);
                const __m256 v0 = _mm256_loadu_ps(w0 + k), v1 = _mm256_loadu_ps(w1 + k),
                             v2 = _mm256_loadu_ps(w2 + k), v3 = _mm256_loadu_ps(w3 + k);
                c00 = _mm256_fmadd_ps(a0, v0, c00);
                c01 = _mm256_fmadd_ps(a0, v1, c01);
                c02 = _mm256_fmadd_ps(a0, v2, c02);
                c03 = _mm256_fmadd_ps(a0, v3, c03);
                c10 = _mm256_fmadd_ps(a1, v0, c10);
                c11 = _mm256_fmadd_ps(a1, v1, c11);
                c12 = _mm256_fmadd_ps(a1, v2, c12);
                c13 = _mm256_fmadd_ps(a1, v3, c13);
            }
            store4(output + (size_t)r * outputs + o, sums4(c00, c01, c02, c03), count, accumulate);
            store4(output + (size_t)(r + 1) * outputs + o, sums4(c10, c11, c12, c13), count, accumulate);
        }
        for (; r < rows; r++) row4x1(input + (size_t)r * inputs, w, inputs, output + (size_t)r * outputs + o, count,
                                     accumulate);
    }
}

/// The same product with a 4-outputs x 4-rows tile: 16 accumulators, which needs AVX-512VL's 32 vector registers
/// (the instructions stay 256 bits wide).
__attribute__((target("avx2,fma,avx512f,avx512vl"))) static void linear_avx512vl(
    const uint8_t *nibbles, const float *scales, int outputs, int inputs, const float *input, int rows,
    float *output, int accumulate, float *w) {
    float *w0 = w, *w1 = w + inputs, *w2 = w + 2 * (size_t)inputs, *w3 = w + 3 * (size_t)inputs;
    for (int o = 0; o < outputs; o += 4) {
        const int count = dequantize4(nibbles, scales, outputs, inputs, o, w);
        int r = 0;
        for (; r + 4 <= rows; r += 4) {
            const float *x0 = input + (size_t)r * inputs, *x1 = x0 + inputs, *x2 = x1 + inputs, *x3 = x2 + inputs;
            __m256 c[4][4];
            for (int i = 0; i < 4; i++)
                for (int j = 0; j < 4; j++) c[i][j] = _mm256_setzero_ps();
            for (int k = 0; k < inputs; k += 8) {
                const __m256 v0 = _mm256_loadu_ps(w0 + k), v1 = _mm256_loadu_ps(w1 + k),
                             v2 = _mm256_loadu_ps(w2 + k), v3 = _mm256_loadu_ps(w3 + k);
                const __m256 a[4] = {_mm256_loadu_ps(x0 + k), _mm256_loadu_ps(x1 + k), _mm256_loadu_ps(x2 + k),
                                     _mm256_loadu_ps(x3 + k)};
                for (int i = 0; i < 4; i++) {
                    c[i][0] = _mm256_fmadd_ps(a[i], v0, c[i][0]);
                    c[i][1] = _mm256_fmadd_ps(a[i], v1, c[i][1]);
                    c[i][2] = _mm256_fmadd_ps(a[i], v2, c[i][2]);
                    c[i][3] = _mm256_fmadd_ps(a[i], v3, c[i][3]);
                }
            }
            for (int i = 0; i < 4; i++)
                store4(output + (size_t)(r + i) * outputs + o, sums4(c[i][0], c[i][1], c[i][2], c[i][3]), count,
                       accumulate);
        }
        for (; r < rows; r++) row4x1(input + (size_t)r * inputs, w, inputs, output + (size_t)r * outputs + o, count,
                                     accumulate);
    }
}

/// 0: portable, 1: AVX2 and FMA, 2: AVX2, FMA and AVX-512VL.
static int detect_level(void) {
    __builtin_cpu_init();
    if (!(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))) return 0;
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") ? 2 : 1;
}

#endif

static int level(void) {
#ifdef AIRLOCK_X86
    static _Atomic int cached = -1;  // every thread that races here computes the same value
    int value = atomic_load_explicit(&cached, memory_order_relaxed);
    if (value < 0) {
        value = detect_level();
        atomic_store_explicit(&cached, value, memory_order_relaxed);
    }
    return value;
#else
    return 0;
#endif
}


void airlock_q4_dequantize_rows(const uint8_t *nibbles, const float *scales, int count, int inputs, float *out) {
    const int blocks = inputs / 32;
#ifdef AIRLOCK_X86
    if (level() > 0) {
        for (int r = 0; r < count; r++)
            dequantize_row_avx2(nibbles + (size_t)r * (inputs / 2), scales + (size_t)r * blocks, blocks,
                                out + (size_t)r * inputs);
        return;
    }
#endif
    for (int r = 0; r < count; r++)
        airlock_q4_dequantize_row(nibbles + (size_t)r * (inputs / 2), scales + (size_t)r * blocks, blocks,
                                  out + (size_t)r * inputs);
}

int airlock_q4_linear_at_level(int wanted, const uint8_t *nibbles, const float *scales, int outputs, int inputs,
                               const float *input, int rows, float *output, int accumulate) {
    if (wanted < 0 || wanted > level()) return 0;
    if (outputs <= 0 || rows <= 0 || inputs <= 0) return 1;
    // Four dequantized rows; 24 KB for the model's widest input (1,536). On the heap, so a small thread stack
    // never matters.
    float *w = (float *)aligned_alloc(64, ((sizeof(float) * 4 * (size_t)inputs) + 63) / 64 * 64);
    if (w == NULL) abort();
#ifdef AIRLOCK_X86
    switch (wanted) {
    case 2:
        linear_avx512vl(nibbles, scales, outputs, inputs, input, rows, output, accumulate, w);
        free(w);
        return 1;
    case 1:
        linear_avx2(nibbles, scales, outputs, inputs, input, rows, output, accumulate, w);
        free(w);
        return 1;
    default:
        break;
    }
#endif
    linear_portable(nibbles, scales, outputs, inputs, input, rows, output, accumulate, w);
    free(w);
    return 1;
}

void airlock_q4_linear(const uint8_t *nibbles, const float *scales, int outputs, int inputs, const float *input,
                       int rows, float *output, int accumulate) {
    airlock_q4_linear_at_level(level(), nibbles, scales, outputs, inputs, input, rows, output, accumulate);
}
