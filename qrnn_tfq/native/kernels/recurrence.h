// One sample's whole sequence (SPEC section 4), forward and backward through time, on top
// of the workspace stages of `sequence.h`: the output stage, the word distribution, the
// measurement (teacher-forced, sampled or argmax) and the postselection onto the measured
// word, as qrnn_tfq/engine/step.py and sequence.py; the backward replays each step from
// the state kept before it, as qrnn_tfq/engine/backward.py.
#ifndef QRNN_TFQ_NATIVE_RECURRENCE_H_
#define QRNN_TFQ_NATIVE_RECURRENCE_H_

#include "sequence.h"

namespace qrnn {

// One sample's inputs and outputs: (T,) or (T, words) or (T, 2^W) rows of the batch tensors.
template <class T> struct Sample {
  using R = typename Real<T>::type;
  int steps = 0;
  const int32_t* input = nullptr;
  const int32_t* target = nullptr;    // the measured words, in the backward
  const bool* scored = nullptr;
  const bool* mask = nullptr;         // null: every step runs
  const double* uniform = nullptr;    // one uniform draw per step (measurement "sample")
  const T* start = nullptr;           // (2^W,) initial workspace state
  R* probabilities = nullptr;         // (T, words)
  int32_t* measured = nullptr;
  R* postselection = nullptr;
  R* success = nullptr;
  T* states = nullptr;                // (T, 2^W) the state before each step, or null
  T* final_state = nullptr;
};

// Per-thread scratch of the size of a few states.
template <class T> struct Scratch {
  using R = typename Real<T>::type;
  std::vector<T> psi, grad, saved, branches, d_psi;
  std::vector<R> p2, weights, scales, carried, d_p, d_weights;  // the last three: the backward's per word
  std::vector<double> cdf;
  Scratch(const Cell<T>& cell, bool backward)
      : psi(cell.size()), grad(backward ? cell.size() : 0),
        saved(backward ? (cell.plan.size() + 1) * cell.size() : 0), branches(backward ? cell.size() : 0),
        d_psi(backward ? cell.size() : 0), p2(cell.size()), weights(cell.words), scales(cell.plan.size()),
        carried(cell.words), d_p(cell.words), d_weights(cell.words), cdf(cell.words) {}
};

// Step 5-6: the unnormalised weight of each word's branch, their total, and the word
// distribution (0 when the total is below sqrt(tiny), as state_ops.inverse_sqrt).
template <class T>
void word_weights(const Cell<T>& cell, const T* psi, Scratch<T>* s, typename Real<T>::type* total,
                  typename Real<T>::type* inverse_total) {
  using R = typename Real<T>::type;
  const int n = cell.size();
  for (int v = 0; v < n; ++v) s->p2[v] = abs2(psi[v]);
  R sum = 0;
  for (int w = 0; w < cell.words; ++w) {
    const R* g2 = cell.gain2 + int64_t(w) * n;
    const R* p2 = s->p2.data();
    R acc = 0;
#pragma omp simd reduction(+ : acc)
    for (int v = 0; v < n; ++v) acc += p2[v] * g2[v];
    s->weights[w] = acc;
    sum += acc;
  }
  *total = sum;
  *inverse_total = sum > std::sqrt(tiny<R>()) ? R(1) / sum : R(0);
}

// The measured word: the target, or at a scored step the argmax or an inverse-CDF sample
// of the distribution with uniform draw `u` (qrnn_tfq/engine/step.py `choose_words`).
template <class R>
int choose(Measurement mode, const R* probabilities, int words, int target, bool scored, double u, double* cdf) {
  if (mode == kTarget || !scored) return target;
  if (mode == kArgmax) {
    int best = 0;
    for (int w = 1; w < words; ++w) if (probabilities[w] > probabilities[best]) best = w;
    return best;
  }
  double sum = 0;
  for (int w = 0; w < words; ++w) cdf[w] = sum += double(probabilities[w]);
  const double cut = u * sum;
  int chosen = 0;
  for (int w = 0; w < words; ++w) chosen += cdf[w] <= cut;
  return chosen < words ? chosen : words - 1;
}

template <class T>
void forward_sample(const Cell<T>& cell, Measurement mode, const Sample<T>& io, Scratch<T>* s) {
  using R = typename Real<T>::type;
  const int n = cell.size(), words = cell.words;
  const R floor = std::sqrt(tiny<R>());
  T* psi = s->psi.data();
  std::memcpy(psi, io.start, sizeof(T) * n);
  for (int t = 0; t < io.steps; ++t) {
    R* p = io.probabilities + int64_t(t) * words;
    if (io.states) std::memcpy(io.states + int64_t(t) * n, psi, sizeof(T) * n);
    if (io.mask && !io.mask[t]) {  // the state stays, the output repeats the previous step's
      for (int w = 0; w < words; ++w) p[w] = t > 0 ? p[w - words] : R(0);
      io.measured[t] = io.target[t];
      io.postselection[t] = R(1);
      io.success[t] = R(1);
      continue;
    }
    R success = 1, total, inverse_total;
    workspace_stages(cell, io.input[t], psi, &success, static_cast<T*>(nullptr), static_cast<R*>(nullptr));
    word_weights(cell, psi, s, &total, &inverse_total);
    for (int w = 0; w < words; ++w) p[w] = s->weights[w] * inverse_total;
    const int m = choose(mode, p, words, io.target[t], io.scored[t], io.uniform ? io.uniform[t] : 0.0, s->cdf.data());
    io.measured[t] = m;
    io.postselection[t] = p[m];
    io.success[t] = success * total;
    if (!cell.coherent) {  // step 7: project onto the measured word's branch, renormalise
      const R weight = s->weights[m];
      const R q = weight > floor ? R(1) / std::sqrt(weight) : R(0);
      const T* gm = cell.gains + int64_t(m) * n;
      for (int v = 0; v < n; ++v) psi[v] = gm[v] * psi[v] * q;
    }
  }
  std::memcpy(io.final_state, psi, sizeof(T) * n);
}

// The gradients of one sample's outputs pulled back through its steps, replaying each from
// `io.states` with the measured words `io.target`. `d_probabilities` (T, words),
// `d_postselection` (T,), `d_final` (2^W,) in; `d_start` (2^W,) out; factors into `grads`.
template <class T>
void backward_sample(const Cell<T>& cell, const Sample<T>& io, const typename Real<T>::type* d_probabilities,
                     const typename Real<T>::type* d_postselection, const T* d_final, T* d_start, Grads<T>* grads,
                     Scratch<T>* s) {
  using R = typename Real<T>::type;
  const int n = cell.size(), words = cell.words;
  const R floor = std::sqrt(tiny<R>());
  T* g = s->grad.data();
  T* psi = s->psi.data();
  std::memcpy(g, d_final, sizeof(T) * n);
  std::vector<R>& carried = s->carried;  // the gradient of a masked step's repeated output
  std::vector<R>& d_p = s->d_p;
  std::vector<R>& d_weights = s->d_weights;
  std::vector<T>& d_psi = s->d_psi;
  std::fill(carried.begin(), carried.end(), R(0));
  for (int t = io.steps - 1; t >= 0; --t) {
    for (int w = 0; w < words; ++w) d_p[w] = d_probabilities[int64_t(t) * words + w] + carried[w];
    if (io.mask && !io.mask[t]) {  // the output repeats the previous step's; the state passes
      carried = d_p;
      continue;
    }
    std::fill(carried.begin(), carried.end(), R(0));
    const int x = io.input[t], m = io.target[t];
    std::memcpy(psi, io.states + int64_t(t) * n, sizeof(T) * n);
    R success = 1, total, inverse_total;
    workspace_stages(cell, x, psi, &success, s->saved.data(), s->scales.data());
    word_weights(cell, psi, s, &total, &inverse_total);
    // probabilities = weights / total; postselection = probabilities[m]
    d_p[m] += d_postselection[t];
    R d_inverse = 0;
    for (int w = 0; w < words; ++w) {
      d_inverse += d_p[w] * s->weights[w];
      d_weights[w] = d_p[w] * inverse_total;
    }
    const R d_total = total > floor ? -d_inverse * inverse_total * inverse_total : R(0);
    for (int w = 0; w < words; ++w) d_weights[w] += d_total;
    if (cell.coherent) {
      std::memcpy(d_psi.data(), g, sizeof(T) * n);
    } else {  // next = gains[m] * psi * q, q = weights[m]^-1/2
      const R weight = s->weights[m];
      const R q = weight > floor ? R(1) / std::sqrt(weight) : R(0);
      const T* gm = cell.gains + int64_t(m) * n;
      T* d_gm = grads->gains.data() + int64_t(m) * n;
      R d_q = 0;
      for (int v = 0; v < n; ++v) {
        d_gm[v] += conj_(psi[v] * q) * g[v];
        d_psi[v] = conj_(gm[v] * q) * g[v];
        d_q += re(conj_(gm[v] * psi[v]) * g[v]);
      }
      if (weight > floor) d_weights[m] += d_q * R(-0.5) * q * q * q;
    }
    // weights[w] = sum_v |psi_v|^2 |gains[w, v]|^2
    for (int w = 0; w < words; ++w) {
      const T* gw = cell.gains + int64_t(w) * n;
      T* d_gw = grads->gains.data() + int64_t(w) * n;
      const R dw = d_weights[w];
      const R* g2 = cell.gain2 + int64_t(w) * n;
      for (int v = 0; v < n; ++v) {
        d_gw[v] += R(2) * gw[v] * (dw * s->p2[v]);
        d_psi[v] += R(2) * psi[v] * (dw * g2[v]);
      }
    }
    std::memcpy(g, d_psi.data(), sizeof(T) * n);
    workspace_adjoint(cell, x, s->saved.data(), s->scales.data(), g, grads, s->branches.data());
  }
  std::memcpy(d_start, g, sizeof(T) * n);
}

}  // namespace qrnn

#endif  // QRNN_TFQ_NATIVE_RECURRENCE_H_
