// The QRNN recurrence of one sample, fused (SPEC sections 2-4): every neuron of every
// step applied in place to a state small enough to stay in the core's cache, forward and
// backward. Pure C++ templates over the amplitude type (float, double, and complex for
// amplified neurons, SPEC section 8); `ops.cc` wraps them as TensorFlow ops.
//
// The arithmetic follows the TensorFlow engine (qrnn_tfq/engine/step.py) operation for
// operation, so that the two agree to float round-off: the same neuron order, the same
// renormalisation points (every `interval` neurons), the same floors (`tiny` for the
// renormalisation, `sqrt(tiny)` for the word distribution and the postselection), and
// the same adjoints (qrnn_tfq/engine/state_ops.py, backward.py). Gradients follow
// TensorFlow's convention for complex numbers: dL/dRe z + i dL/dIm z.
#ifndef QRNN_TFQ_NATIVE_SEQUENCE_H_
#define QRNN_TFQ_NATIVE_SEQUENCE_H_

#include <cmath>
#include <complex>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

namespace qrnn {

template <class T> struct Real { using type = T; };
template <class R> struct Real<std::complex<R>> { using type = R; };

inline float conj_(float x) { return x; }
inline double conj_(double x) { return x; }
template <class R> inline std::complex<R> conj_(std::complex<R> x) { return std::conj(x); }
inline float abs2(float x) { return x * x; }
inline double abs2(double x) { return x * x; }
template <class R> inline R abs2(std::complex<R> x) { return x.real() * x.real() + x.imag() * x.imag(); }
inline float re(float x) { return x; }
inline double re(double x) { return x; }
template <class R> inline R re(std::complex<R> x) { return x.real(); }

enum Measurement { kTarget = 0, kSample = 1, kArgmax = 2 };

// One operation of the workspace stages, in the order the TensorFlow engine applies them.
struct Operation {
  enum Kind { kRotate, kNeuron, kNormalize } kind;
  int lane;   // the target lane (mixes)
  int index;  // kRotate: (stage - 1) * W + lane into work_cos/work_sin; kNeuron: the neuron
};

// The topology and the factors of one forward pass, shared by every sample.
template <class T> struct Cell {
  using R = typename Real<T>::type;
  int lanes = 0;      // W, workspace lanes
  int stages = 0;     // S, work stages
  int words = 0;      // 2^I
  int interval = 1;   // neurons between renormalisations
  bool coherent = false;
  const T* table = nullptr;     // (words, N_ws, 2, 2^(W-1)): [c, s] of each workspace neuron, by input word
  const T* gains = nullptr;     // (words, 2^W) output stage factor of each word's branch
  const R* gain2 = nullptr;     // (words, 2^W) |gains|^2
  const T* work_cos = nullptr;  // (S, W)
  const T* work_sin = nullptr;  // (S, W)

  int size() const { return 1 << lanes; }
  int half() const { return 1 << (lanes - 1); }
  int neurons() const { return lanes * (stages + 1); }
  int64_t row() const { return int64_t(neurons()) * 2 * half(); }
  std::vector<Operation> plan;  // workspace_plan(lanes, stages, interval)
};

// Gradient accumulators of one thread's block of samples.
template <class T> struct Grads {
  std::vector<T> table, gains, work_cos, work_sin;
  explicit Grads(const Cell<T>& cell)
      : table(cell.words * cell.row()), gains(int64_t(cell.words) * cell.size()),
        work_cos(cell.stages * cell.lanes), work_sin(cell.stages * cell.lanes) {}
};

template <class R> inline R tiny() { return std::numeric_limits<R>::min(); }

// body(i) for i < count, vectorised (`omp simd`) when T is real. Not for complex T: gcc's
// `omp simd` over std::complex made a mix 40x slower than the plain loop (measured).
template <class T, class Body> inline void simd_for(int count, Body body) {
  if constexpr (std::is_floating_point_v<T>) {
#pragma omp simd
    for (int i = 0; i < count; ++i) body(i);
  } else {
    for (int i = 0; i < count; ++i) body(i);
  }
}

// sum of term(i) for i < count, in R, vectorised when T is real (as `simd_for`).
template <class T, class R, class Term> inline R simd_sum(int count, Term term) {
  R total = 0;
  if constexpr (std::is_floating_point_v<T>) {
#pragma omp simd reduction(+ : total)
    for (int i = 0; i < count; ++i) total += term(i);
  } else {
    for (int i = 0; i < count; ++i) total += term(i);
  }
  return total;
}

// a0' = c a0 - s a1, a1' = s a0 + c a1 on the pairs (a[lo], b[lo]), lo < stride: factors
// per branch (kShared false: c[lo], s[lo]) or one pair for all (kShared: c[0], s[0]).
// (out may be in: in place).
template <class T, bool kShared, int kStride>
inline void mix_block(const T* a, const T* b, T* a_out, T* b_out, const T* c, const T* s, int stride) {
  const int count = kStride > 0 ? kStride : stride;
  simd_for<T>(count, [&](int lo) {
    const T cc = kShared ? c[0] : c[lo], ss = kShared ? s[0] : s[lo], a0 = a[lo], a1 = b[lo];
    a_out[lo] = cc * a0 - ss * a1;
    b_out[lo] = ss * a0 + cc * a1;
  });
}

template <class T, bool kShared, int kStride>
inline void mix_lane(const T* psi, T* out, int lanes, int lane, const T* c, const T* s) {
  const int stride = 1 << (lanes - 1 - lane), blocks = 1 << lane;
  for (int hi = 0; hi < blocks; ++hi) {
    const int k = kShared ? 0 : hi * stride, i0 = 2 * hi * stride, i1 = i0 + stride;
    mix_block<T, kShared, kStride>(psi + i0, psi + i1, out + i0, out + i1, c + k, s + k, stride);
  }
}

// `mix` on `lane` of a (2^lanes,) state `psi` into `out` (which may be `psi`), lane 0 the
// most significant bit: the pairs are runs of `stride = 2^(lanes-1-lane)` amplitudes;
// short runs get loops of known length.
template <class T, bool kShared>
inline void mix(const T* psi, T* out, int lanes, int lane, const T* c, const T* s) {
  switch (lanes - 1 - lane) {
    case 0: return mix_lane<T, kShared, 1>(psi, out, lanes, lane, c, s);
    case 1: return mix_lane<T, kShared, 2>(psi, out, lanes, lane, c, s);
    case 2: return mix_lane<T, kShared, 4>(psi, out, lanes, lane, c, s);
    default: return mix_lane<T, kShared, 0>(psi, out, lanes, lane, c, s);
  }
}

// The adjoint of `mix` at input (a, b) (kept): g <- mix(g, conj c, -conj s), and per
// branch d_c += conj(a0) g0 + conj(a1) g1, d_s += conj(a0) g1 - conj(a1) g0.
template <class T, bool kShared, int kStride>
inline void mix_adjoint_block(const T* a, const T* b, T* g0p, T* g1p, const T* c, const T* s, T* dc, T* ds, int stride) {
  const int count = kStride > 0 ? kStride : stride;
  simd_for<T>(count, [&](int lo) {
    const T a0 = conj_(a[lo]), a1 = conj_(b[lo]), g0 = g0p[lo], g1 = g1p[lo];
    const T cc = conj_(kShared ? c[0] : c[lo]), ss = conj_(kShared ? s[0] : s[lo]);
    dc[lo] += a0 * g0 + a1 * g1;
    ds[lo] += a0 * g1 - a1 * g0;
    g0p[lo] = cc * g0 + ss * g1;
    g1p[lo] = cc * g1 - ss * g0;
  });
}

// Per branch into `dc`, `ds` (2^(lanes-1) each). With shared factors (a work-stage
// rotation) `dc`, `ds` are scratch of that size, summed by the caller: one reduction per
// lane instead of one per run of pairs, which short runs made the slowest part.
template <class T, bool kShared, int kStride>
inline void mix_adjoint_lane(const T* psi, T* g, int lanes, int lane, const T* c, const T* s, T* dc, T* ds) {
  const int stride = 1 << (lanes - 1 - lane), blocks = 1 << lane;
  if constexpr (kStride == 1) {  // the last lane: adjacent pairs, one flat loop (3x faster than runs of one)
    simd_for<T>(blocks, [&](int k) {
      const T a0 = conj_(psi[2 * k]), a1 = conj_(psi[2 * k + 1]), g0 = g[2 * k], g1 = g[2 * k + 1];
      const T cc = conj_(kShared ? c[0] : c[k]), ss = conj_(kShared ? s[0] : s[k]);
      dc[k] += a0 * g0 + a1 * g1;
      ds[k] += a0 * g1 - a1 * g0;
      g[2 * k] = cc * g0 + ss * g1;
      g[2 * k + 1] = cc * g1 - ss * g0;
    });
    return;
  }
  for (int hi = 0; hi < blocks; ++hi) {
    const int k = hi * stride, i0 = 2 * hi * stride, i1 = i0 + stride;
    const int f = kShared ? 0 : k;
    mix_adjoint_block<T, kShared, kStride>(psi + i0, psi + i1, g + i0, g + i1, c + f, s + f, dc + k, ds + k, stride);
  }
}

template <class T, bool kShared>
inline void mix_adjoint_branches(const T* psi, T* g, int lanes, int lane, const T* c, const T* s, T* dc, T* ds) {
  switch (lanes - 1 - lane) {
    case 0: return mix_adjoint_lane<T, kShared, 1>(psi, g, lanes, lane, c, s, dc, ds);
    case 1: return mix_adjoint_lane<T, kShared, 2>(psi, g, lanes, lane, c, s, dc, ds);
    case 2: return mix_adjoint_lane<T, kShared, 4>(psi, g, lanes, lane, c, s, dc, ds);
    default: return mix_adjoint_lane<T, kShared, 0>(psi, g, lanes, lane, c, s, dc, ds);
  }
}

template <class T> inline T sum(const T* x, int n) {
  T total = T(0);
  if constexpr (std::is_floating_point_v<T>) {
#pragma omp simd reduction(+ : total)
    for (int i = 0; i < n; ++i) total += x[i];
  } else {
    for (int i = 0; i < n; ++i) total += x[i];
  }
  return total;
}

// The adjoint of a mix: per-branch factors' gradients added into dc, ds (2^(lanes-1)); a
// shared pair's (kShared) into dc[0], ds[0], through `scratch` (2 x 2^(lanes-1)).
template <class T, bool kShared>
inline void mix_adjoint(const T* psi, T* g, int lanes, int lane, const T* c, const T* s, T* dc, T* ds, T* scratch) {
  if constexpr (kShared) {
    const int half = 1 << (lanes - 1), stride = 1 << (lanes - 1 - lane);
    if (stride >= 16) {  // long runs: each run's sum vectorises; the per-branch products stay in registers
      T dc_sum = T(0), ds_sum = T(0);
      const T cc = conj_(c[0]), ss = conj_(s[0]);
      for (int i0 = 0; i0 < 2 * half; i0 += 2 * stride) {
        const T* a = psi + i0;
        T* g0p = g + i0;
        if constexpr (std::is_floating_point_v<T>) {
#pragma omp simd reduction(+ : dc_sum, ds_sum)
          for (int lo = 0; lo < stride; ++lo) {
            const T a0 = a[lo], a1 = a[lo + stride], g0 = g0p[lo], g1 = g0p[lo + stride];
            dc_sum += a0 * g0 + a1 * g1;
            ds_sum += a0 * g1 - a1 * g0;
            g0p[lo] = cc * g0 + ss * g1;
            g0p[lo + stride] = cc * g1 - ss * g0;
          }
        } else {
          for (int lo = 0; lo < stride; ++lo) {
            const T a0 = conj_(a[lo]), a1 = conj_(a[lo + stride]), g0 = g0p[lo], g1 = g0p[lo + stride];
            dc_sum += a0 * g0 + a1 * g1;
            ds_sum += a0 * g1 - a1 * g0;
            g0p[lo] = cc * g0 + ss * g1;
            g0p[lo + stride] = cc * g1 - ss * g0;
          }
        }
      }
      dc[0] += dc_sum;
      ds[0] += ds_sum;
      return;
    }
    std::fill(scratch, scratch + 2 * half, T(0));
    mix_adjoint_branches<T, true>(psi, g, lanes, lane, c, s, scratch, scratch + half);
    dc[0] += sum(scratch, half);
    ds[0] += sum(scratch + half, half);
  } else {
    mix_adjoint_branches<T, false>(psi, g, lanes, lane, c, s, dc, ds);
  }
}

template <class T> inline typename Real<T>::type norm2(const T* psi, int n) {
  return simd_sum<T, typename Real<T>::type>(n, [&](int i) { return abs2(psi[i]); });
}

// `psi` rescaled to unit norm into `out` (0 below `tiny`, as state_ops.normalize); returns the scale.
template <class T>
inline typename Real<T>::type normalize(const T* psi, T* out, int n, typename Real<T>::type* success) {
  using R = typename Real<T>::type;
  const R total = norm2(psi, n);
  const R scale = total > tiny<R>() ? R(1) / std::sqrt(total) : R(0);
  simd_for<T>(n, [&](int i) { out[i] = psi[i] * scale; });
  *success *= total;
  return scale;
}

// SPEC section 3 steps 1-4: the input stage, then per work stage the rotations and the
// neurons, renormalised after every `interval` neurons and once at the end.
inline std::vector<Operation> workspace_plan(int lanes, int stages, int interval) {
  std::vector<Operation> plan;
  int neuron = 0;
  for (int stage = 0; stage <= stages; ++stage) {
    if (stage > 0)
      for (int lane = 0; lane < lanes; ++lane) plan.push_back({Operation::kRotate, lane, (stage - 1) * lanes + lane});
    for (int lane = 0; lane < lanes; ++lane) {
      plan.push_back({Operation::kNeuron, lane, neuron});
      if (++neuron % interval == 0) plan.push_back({Operation::kNormalize, 0, 0});
    }
  }
  if (neuron % interval != 0) plan.push_back({Operation::kNormalize, 0, 0});
  return plan;
}

// The workspace stages on `psi` in place, for input word `x`. With `saved` (one state per
// operation and one for the result) and `scales` (one per operation) each operation reads
// its input from `saved` and writes the next one's there, which the backward keeps.
template <class T>
void workspace_stages(const Cell<T>& cell, int x, T* psi, typename Real<T>::type* success, T* saved,
                      typename Real<T>::type* scales) {
  const int n = cell.size(), half = cell.half();
  const T* row = cell.table + x * cell.row();
  if (saved) std::memcpy(saved, psi, sizeof(T) * n);
  for (size_t op = 0; op < cell.plan.size(); ++op) {
    const Operation& o = cell.plan[op];
    const T* in = saved ? saved + int64_t(op) * n : psi;
    T* out = saved ? saved + int64_t(op + 1) * n : psi;
    if (o.kind == Operation::kRotate) {
      mix<T, true>(in, out, cell.lanes, o.lane, cell.work_cos + o.index, cell.work_sin + o.index);
    } else if (o.kind == Operation::kNeuron) {
      mix<T, false>(in, out, cell.lanes, o.lane, row + (2 * o.index) * half, row + (2 * o.index + 1) * half);
    } else {
      const auto scale = normalize(in, out, n, success);
      if (scales) scales[op] = scale;
    }
  }
  if (saved) std::memcpy(psi, saved + int64_t(cell.plan.size()) * n, sizeof(T) * n);
}

// The adjoint of `workspace_stages` from the kept states: `g` (the gradient of the stages'
// output) becomes the gradient of their input; the factors' gradients are added to `grads`.
template <class T>
void workspace_adjoint(const Cell<T>& cell, int x, const T* saved, const typename Real<T>::type* scales, T* g,
                       Grads<T>* grads, T* scratch) {
  using R = typename Real<T>::type;
  const int n = cell.size(), half = cell.half();
  const T* row = cell.table + x * cell.row();
  T* d_row = grads->table.data() + x * cell.row();
  for (int op = int(cell.plan.size()) - 1; op >= 0; --op) {
    const Operation& o = cell.plan[op];
    const T* before = saved + int64_t(op) * n;
    if (o.kind == Operation::kRotate) {
      mix_adjoint<T, true>(before, g, cell.lanes, o.lane, cell.work_cos + o.index, cell.work_sin + o.index,
                           grads->work_cos.data() + o.index, grads->work_sin.data() + o.index, scratch);
    } else if (o.kind == Operation::kNeuron) {
      mix_adjoint<T, false>(before, g, cell.lanes, o.lane, row + (2 * o.index) * half, row + (2 * o.index + 1) * half,
                            d_row + (2 * o.index) * half, d_row + (2 * o.index + 1) * half, scratch);
    } else {  // the projection of g off the unit vector, times the scale (state_ops.normalize)
      const R scale = scales[op];
      const R overlap = scale * simd_sum<T, R>(n, [&](int i) { return re(conj_(before[i]) * g[i]); });
      simd_for<T>(n, [&](int i) { g[i] = scale * (g[i] - before[i] * (scale * overlap)); });
    }
  }
}

}  // namespace qrnn

#endif  // QRNN_TFQ_NATIVE_SEQUENCE_H_
