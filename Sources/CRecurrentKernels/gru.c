// The recurrent half of LAC's BiGRU: per unit, two matrix-vector products (hidden → 2·hidden for the gates,
// hidden → hidden for the candidate) and the activations. As BLAS calls these were a library call per product plus
// Swift loops for the activations; here one pass keeps the state in registers and L1, the weights stream from L2,
// and σ and tanh use the same Cephes-style exp as the Swift code had (relative error below 2e-7).

#include "CRecurrentKernels.h"

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define AIRLOCK_X86 1
#endif

static int cpu_level(void);

static float sigmoid1(float x) { return 1.0f / (1.0f + expf(-x)); }

static void gru_portable(const float *projected, int first, int last, int reverse, int hidden, const float *gates,
                         const float *candidate, float *states, int stride, int offset) {
    float *h = calloc((size_t)hidden * 5, sizeof(float));  // h, gate (2H), reset, proposal
    if (!h) abort();
    float *gate = h + hidden, *reset = gate + 2 * hidden;
    for (int step = 0; step < last - first; step++) {
        const int row = reverse ? last - 1 - step : first + step;
        const float *x = projected + (size_t)row * 3 * hidden;
        for (int j = 0; j < 2 * hidden; j++) gate[j] = x[j];
        for (int i = 0; i < hidden; i++) {
            const float hi = h[i];
            const float *w = gates + (size_t)i * 2 * hidden;
            for (int j = 0; j < 2 * hidden; j++) gate[j] += hi * w[j];
        }
        for (int j = 0; j < 2 * hidden; j++) gate[j] = sigmoid1(gate[j]);
        for (int j = 0; j < hidden; j++) reset[j] = gate[hidden + j] * h[j];
        float *proposal = reset + hidden;
        for (int j = 0; j < hidden; j++) proposal[j] = x[2 * hidden + j];
        for (int i = 0; i < hidden; i++) {
            const float ri = reset[i];
            const float *w = candidate + (size_t)i * hidden;
            for (int j = 0; j < hidden; j++) proposal[j] += ri * w[j];
        }
        float *out = states + (size_t)row * stride + offset;
        for (int j = 0; j < hidden; j++) {
            const float u = gate[j];
            h[j] = (1 - u) * h[j] + u * tanhf(proposal[j]);
            out[j] = h[j];
        }
    }
    free(h);
}

#ifdef AIRLOCK_X86
// e^x for eight lanes: clamp, x = n·ln2 + r, a degree-5 polynomial for e^r, times 2^n.
__attribute__((target("avx2,fma"))) static inline __m256 exp8(__m256 x) {
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.3f)), _mm256_set1_ps(88.3f));
    const __m256 shifted = _mm256_fmadd_ps(x, _mm256_set1_ps(1.44269504f), _mm256_set1_ps(12582912.0f));
    const __m256 n = _mm256_sub_ps(shifted, _mm256_set1_ps(12582912.0f));
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(_mm256_mul_ps(p, r), r, _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    const __m256i integer = _mm256_sub_epi32(_mm256_castps_si256(shifted), _mm256_set1_epi32(0x4B400000));
    const __m256 scale = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(integer, _mm256_set1_epi32(127)), 23));
    return _mm256_mul_ps(p, scale);
}

// y[0, 64) += Σ_i v[i] · w[i·width, +64): eight accumulators, one broadcast a row.
__attribute__((target("avx2,fma"))) static inline void product64(const float *v, int count, const float *w, int width,
                                                                  float *y) {
    __m256 a0 = _mm256_loadu_ps(y), a1 = _mm256_loadu_ps(y + 8), a2 = _mm256_loadu_ps(y + 16),
           a3 = _mm256_loadu_ps(y + 24), a4 = _mm256_loadu_ps(y + 32), a5 = _mm256_loadu_ps(y + 40),
           a6 = _mm256_loadu_ps(y + 48), a7 = _mm256_loadu_ps(y + 56);
    for (int i = 0; i < count; i++) {
        const __m256 s = _mm256_broadcast_ss(v + i);
        const float *r = w + (size_t)i * width;
        a0 = _mm256_fmadd_ps(s, _mm256_loadu_ps(r), a0);
        a1 = _mm256_fmadd_ps(s, _mm256_loadu_ps(r + 8), a1);
        a2 = _mm256_fmadd_ps(s, _mm256_loadu_ps(r + 16), a2);
        a3 = _mm256_fmadd_ps(s, _mm256_loadu_ps(r + 24), a3);
        a4 = _mm256_fmadd_ps(s, _mm256_loadu_ps(r + 32), a4);
        a5 = _mm256_fmadd_ps(s, _mm256_loadu_ps(r + 40), a5);
        a6 = _mm256_fmadd_ps(s, _mm256_loadu_ps(r + 48), a6);
        a7 = _mm256_fmadd_ps(s, _mm256_loadu_ps(r + 56), a7);
    }
    _mm256_storeu_ps(y, a0), _mm256_storeu_ps(y + 8, a1), _mm256_storeu_ps(y + 16, a2), _mm256_storeu_ps(y + 24, a3);
    _mm256_storeu_ps(y + 32, a4), _mm256_storeu_ps(y + 40, a5), _mm256_storeu_ps(y + 48, a6), _mm256_storeu_ps(y + 56, a7);
}

#define GRU_BODY(PRODUCT, CHUNK)                                                                                    \
    float *h = aligned_alloc(64, sizeof(float) * (size_t)hidden * 8);                                              \
    if (!h) abort();                                                                                               \
    memset(h, 0, sizeof(float) * (size_t)hidden);                                                                  \
    float *gate = h + hidden, *reset = gate + 2 * hidden, *proposal = reset + hidden;                              \
    const __m256 one = _mm256_set1_ps(1.0f), two = _mm256_set1_ps(2.0f);                                           \
    for (int step = 0; step < last - first; step++) {                                                              \
        const int row = reverse ? last - 1 - step : first + step;                                                  \
        const float *x = projected + (size_t)row * 3 * hidden;                                                     \
        memcpy(gate, x, sizeof(float) * 2 * (size_t)hidden);                                                       \
        for (int chunk = 0; chunk < 2 * hidden; chunk += CHUNK)                                                    \
            PRODUCT(h, hidden, gates + chunk, 2 * hidden, gate + chunk);                                           \
        for (int j = 0; j < 2 * hidden; j += 8) {                                                                  \
            const __m256 g = _mm256_loadu_ps(gate + j);                                                            \
            _mm256_storeu_ps(gate + j,                                                                             \
                             _mm256_div_ps(one, _mm256_add_ps(one, exp8(_mm256_sub_ps(_mm256_setzero_ps(), g))))); \
        }                                                                                                          \
        for (int j = 0; j < hidden; j += 8)                                                                        \
            _mm256_storeu_ps(reset + j, _mm256_mul_ps(_mm256_loadu_ps(gate + hidden + j), _mm256_loadu_ps(h + j))); \
        memcpy(proposal, x + 2 * hidden, sizeof(float) * (size_t)hidden);                                          \
        for (int chunk = 0; chunk < hidden; chunk += CHUNK)                                                        \
            PRODUCT(reset, hidden, candidate + chunk, hidden, proposal + chunk);                                   \
        float *out = states + (size_t)row * stride + offset;                                                       \
        for (int j = 0; j < hidden; j += 8) {                                                                      \
            const __m256 u = _mm256_loadu_ps(gate + j);                                                            \
            /* tanh(p) = 1 − 2 / (e^{2p} + 1) */                                                                   \
            const __m256 c = _mm256_sub_ps(                                                                        \
                one, _mm256_div_ps(two, _mm256_add_ps(exp8(_mm256_mul_ps(two, _mm256_loadu_ps(proposal + j))), one))); \
            const __m256 previous = _mm256_loadu_ps(h + j);                                                        \
            const __m256 next = _mm256_fmadd_ps(u, _mm256_sub_ps(c, previous), previous);                          \
            _mm256_storeu_ps(h + j, next);                                                                         \
            _mm256_storeu_ps(out + j, next);                                                                       \
        }                                                                                                          \
    }                                                                                                              \
    free(h);

// Two independent products at once (a layer's forward and backward recurrences): sixteen accumulators, so that
// while one chain of FMAs waits on its last result the other proceeds.
__attribute__((target("avx2,fma,avx512f"))) static inline void product128x2(const float *v, const float *w,
                                                                            float *y, const float *v2,
                                                                            const float *w2, float *y2, int count,
                                                                            int width) {
    __m512 a0 = _mm512_loadu_ps(y), a1 = _mm512_loadu_ps(y + 16), a2 = _mm512_loadu_ps(y + 32),
           a3 = _mm512_loadu_ps(y + 48), a4 = _mm512_loadu_ps(y + 64), a5 = _mm512_loadu_ps(y + 80),
           a6 = _mm512_loadu_ps(y + 96), a7 = _mm512_loadu_ps(y + 112);
    __m512 b0 = _mm512_loadu_ps(y2), b1 = _mm512_loadu_ps(y2 + 16), b2 = _mm512_loadu_ps(y2 + 32),
           b3 = _mm512_loadu_ps(y2 + 48), b4 = _mm512_loadu_ps(y2 + 64), b5 = _mm512_loadu_ps(y2 + 80),
           b6 = _mm512_loadu_ps(y2 + 96), b7 = _mm512_loadu_ps(y2 + 112);
    for (int i = 0; i < count; i++) {
        const __m512 s = _mm512_set1_ps(v[i]), t = _mm512_set1_ps(v2[i]);
        const float *r = w + (size_t)i * width, *q = w2 + (size_t)i * width;
        a0 = _mm512_fmadd_ps(s, _mm512_loadu_ps(r), a0);
        b0 = _mm512_fmadd_ps(t, _mm512_loadu_ps(q), b0);
        a1 = _mm512_fmadd_ps(s, _mm512_loadu_ps(r + 16), a1);
        b1 = _mm512_fmadd_ps(t, _mm512_loadu_ps(q + 16), b1);
        a2 = _mm512_fmadd_ps(s, _mm512_loadu_ps(r + 32), a2);
        b2 = _mm512_fmadd_ps(t, _mm512_loadu_ps(q + 32), b2);
        a3 = _mm512_fmadd_ps(s, _mm512_loadu_ps(r + 48), a3);
        b3 = _mm512_fmadd_ps(t, _mm512_loadu_ps(q + 48), b3);
        a4 = _mm512_fmadd_ps(s, _mm512_loadu_ps(r + 64), a4);
        b4 = _mm512_fmadd_ps(t, _mm512_loadu_ps(q + 64), b4);
        a5 = _mm512_fmadd_ps(s, _mm512_loadu_ps(r + 80), a5);
        b5 = _mm512_fmadd_ps(t, _mm512_loadu_ps(q + 80), b5);
        a6 = _mm512_fmadd_ps(s, _mm512_loadu_ps(r + 96), a6);
        b6 = _mm512_fmadd_ps(t, _mm512_loadu_ps(q + 96), b6);
        a7 = _mm512_fmadd_ps(s, _mm512_loadu_ps(r + 112), a7);
        b7 = _mm512_fmadd_ps(t, _mm512_loadu_ps(q + 112), b7);
    }
    _mm512_storeu_ps(y, a0), _mm512_storeu_ps(y + 16, a1), _mm512_storeu_ps(y + 32, a2), _mm512_storeu_ps(y + 48, a3);
    _mm512_storeu_ps(y + 64, a4), _mm512_storeu_ps(y + 80, a5), _mm512_storeu_ps(y + 96, a6);
    _mm512_storeu_ps(y + 112, a7);
    _mm512_storeu_ps(y2, b0), _mm512_storeu_ps(y2 + 16, b1), _mm512_storeu_ps(y2 + 32, b2);
    _mm512_storeu_ps(y2 + 48, b3), _mm512_storeu_ps(y2 + 64, b4), _mm512_storeu_ps(y2 + 80, b5);
    _mm512_storeu_ps(y2 + 96, b6), _mm512_storeu_ps(y2 + 112, b7);
}

__attribute__((target("avx2,fma,avx512f"))) static inline void activate_gates(float *gate, int count) {
    const __m256 one = _mm256_set1_ps(1.0f);
    for (int j = 0; j < count; j += 8) {
        const __m256 g = _mm256_loadu_ps(gate + j);
        _mm256_storeu_ps(gate + j, _mm256_div_ps(one, _mm256_add_ps(one, exp8(_mm256_sub_ps(_mm256_setzero_ps(), g)))));
    }
}

__attribute__((target("avx2,fma,avx512f"))) static inline void update_state(float *h, const float *gate,
                                                                            const float *proposal, float *out,
                                                                            int hidden) {
    const __m256 one = _mm256_set1_ps(1.0f), two = _mm256_set1_ps(2.0f);
    for (int j = 0; j < hidden; j += 8) {
        const __m256 u = _mm256_loadu_ps(gate + j);
        const __m256 c = _mm256_sub_ps(
            one, _mm256_div_ps(two, _mm256_add_ps(exp8(_mm256_mul_ps(two, _mm256_loadu_ps(proposal + j))), one)));
        const __m256 previous = _mm256_loadu_ps(h + j);
        const __m256 next = _mm256_fmadd_ps(u, _mm256_sub_ps(c, previous), previous);
        _mm256_storeu_ps(h + j, next);
        _mm256_storeu_ps(out + j, next);
    }
}

// Both directions of a layer over the same rows, step by step together: forward at row first + t, backward at
// last − 1 − t. hidden must be 128.
__attribute__((target("avx2,fma,avx512f"))) static void bigru_avx512(const float *forward_projected,
                                                                      const float *backward_projected, int first,
                                                                      int last, const float *forward_gates,
                                                                      const float *forward_candidate,
                                                                      const float *backward_gates,
                                                                      const float *backward_candidate, float *states,
                                                                      int stride) {
    enum { H = 128 };
    float *buffer = aligned_alloc(64, sizeof(float) * 16 * H);
    if (!buffer) abort();
    memset(buffer, 0, sizeof(float) * 16 * H);
    float *hf = buffer, *gf = hf + H, *rf = gf + 2 * H, *pf = rf + H;
    float *hb = pf + H, *gb = hb + H, *rb = gb + 2 * H, *pb = rb + H;
    for (int step = 0; step < last - first; step++) {
        const int rowf = first + step, rowb = last - 1 - step;
        const float *xf = forward_projected + (size_t)rowf * 3 * H, *xb = backward_projected + (size_t)rowb * 3 * H;
        memcpy(gf, xf, sizeof(float) * 2 * H);
        memcpy(gb, xb, sizeof(float) * 2 * H);
        product128x2(hf, forward_gates, gf, hb, backward_gates, gb, H, 2 * H);
        product128x2(hf, forward_gates + 128, gf + 128, hb, backward_gates + 128, gb + 128, H, 2 * H);
        activate_gates(gf, 2 * H);
        activate_gates(gb, 2 * H);
        for (int j = 0; j < H; j += 8) {
            _mm256_storeu_ps(rf + j, _mm256_mul_ps(_mm256_loadu_ps(gf + H + j), _mm256_loadu_ps(hf + j)));
            _mm256_storeu_ps(rb + j, _mm256_mul_ps(_mm256_loadu_ps(gb + H + j), _mm256_loadu_ps(hb + j)));
        }
        memcpy(pf, xf + 2 * H, sizeof(float) * H);
        memcpy(pb, xb + 2 * H, sizeof(float) * H);
        product128x2(rf, forward_candidate, pf, rb, backward_candidate, pb, H, H);
        update_state(hf, gf, pf, states + (size_t)rowf * stride, H);
        update_state(hb, gb, pb, states + (size_t)rowb * stride + H, H);
    }
    free(buffer);
}

int airlock_bigru(const float *forward_projected, const float *backward_projected, int first, int last, int hidden,
                  const float *forward_gates, const float *forward_candidate, const float *backward_gates,
                  const float *backward_candidate, float *states) {
    if (hidden != 128 || cpu_level() < 2) return 0;
    bigru_avx512(forward_projected, backward_projected, first, last, forward_gates, forward_candidate,
                 backward_gates, backward_candidate, states, 2 * hidden);
    return 1;
}

__attribute__((target("avx2,fma"))) static void gru_avx2(const float *projected, int first, int last, int reverse,
                                                          int hidden, const float *gates, const float *candidate,
                                                          float *states, int stride, int offset) {
    GRU_BODY(product64, 64)
}

static int detect_level(void) {
    __builtin_cpu_init();
    if (!(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))) return 0;
    return __builtin_cpu_supports("avx512f") ? 2 : 1;
}
#else
static int detect_level(void) { return 0; }
#endif

static int cpu_level(void) {
    static _Atomic int cached = -1;
    int value = atomic_load_explicit(&cached, memory_order_relaxed);
    if (value < 0) {
        value = detect_level();
        atomic_store_explicit(&cached, value, memory_order_relaxed);
    }
    return value;
}

int airlock_gru_at_level(int level, const float *projected, int first, int last, int reverse, int hidden,
                         const float *gates, const float *candidate, float *states, int stride, int offset) {
    if (level == 0) {
        gru_portable(projected, first, last, reverse, hidden, gates, candidate, states, stride, offset);
        return 1;
    }
#ifdef AIRLOCK_X86
    if (level == 1 && cpu_level() >= 1 && hidden % 64 == 0) {
        gru_avx2(projected, first, last, reverse, hidden, gates, candidate, states, stride, offset);
        return 1;
    }
#endif
    return 0;
}

void airlock_gru(const float *projected, int first, int last, int reverse, int hidden, const float *gates,
                 const float *candidate, float *states, int stride, int offset) {
    if (!airlock_gru_at_level(cpu_level() >= 1 ? 1 : 0, projected, first, last, reverse, hidden, gates, candidate, states, stride,
                              offset)) {
        gru_portable(projected, first, last, reverse, hidden, gates, candidate, states, stride, offset);
    }
}
