// Roofline probe of the QRNN forward pass, built and run by train/studies/bench.py.
//
//   roofline_probe WORKSPACE IO_WIDTH STAGES STEPS BATCH INTERVAL [SEED]
//
// The forward of one benchmark case, fused and batch-last, on one core, with no
// TensorFlow: the states of a block of BLOCK samples are (2^W, BLOCK) arrays, so every
// mix runs on whole vectors of samples. For each step, for each block of samples:
//   - the (S+1)*W workspace neurons: a0' = c a0 - s a1, a1' = s a0 + c a1 on each lane
//     (lane 0 the most significant bit of the amplitude index), the factors differing per
//     branch and per sample (gathered per neuron from a (words, neurons, 2, 2^(W-1))
//     table by each sample's input word, as the model looks them up);
//   - the S*W work-stage rotations: one scalar c, s per lane, shared by every sample;
//   - the renormalisation of each sample after every INTERVAL neurons and at the end;
//   - the output stage: IO_WIDTH neurons mixing over the 2^(W+I) amplitudes of the
//     workspace state with the output lanes (the most significant ones) at |0>, the word
//     distribution, the argmax, and the postselection onto each sample's measured word
//     (its slice of the 2^(W+I) amplitudes, renormalised) as the next state.
// The factors are random (the arithmetic and the memory traffic are the model's, not its
// numbers). A last, partial block is padded: it costs a full one. Prints the seconds of
// the whole forward (all steps, all samples) on stdout, a checksum on stderr.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#ifndef QRNN_PROBE_BLOCK
#define QRNN_PROBE_BLOCK 8
#endif
constexpr int B = QRNN_PROBE_BLOCK;  // samples per block: the innermost, contiguous axis

// Where a mix's factors change: per branch (the index with the target lane removed) and/or
// per sample; a factor array is indexed [branch * B + sample], [branch], [sample] or [0].
template <bool kPerBranch, bool kPerSample>
inline void mix(float* psi, int lanes, int lane, const float* c, const float* s) {
  const int stride = 1 << (lanes - 1 - lane), blocks = 1 << lane;
  for (int hi = 0; hi < blocks; ++hi) {
    for (int lo = 0; lo < stride; ++lo) {
      const int k = kPerBranch ? hi * stride + lo : 0;
      float* a = psi + int64_t(2 * hi * stride + lo) * B;
      float* b = a + int64_t(stride) * B;
      const float* ck = c + (kPerSample ? k * B : k);
      const float* sk = s + (kPerSample ? k * B : k);
#pragma omp simd
      for (int j = 0; j < B; ++j) {
        const float cc = kPerSample ? ck[j] : ck[0], ss = kPerSample ? sk[j] : sk[0], a0 = a[j], a1 = b[j];
        a[j] = cc * a0 - ss * a1;
        b[j] = ss * a0 + cc * a1;
      }
    }
  }
}

// Each sample (column) of a (n, B) block rescaled to unit norm (0 below FLT_MIN).
inline void normalize(float* psi, int n) {
  float total[B] = {};
  for (int i = 0; i < n; ++i) {
#pragma omp simd
    for (int j = 0; j < B; ++j) total[j] += psi[int64_t(i) * B + j] * psi[int64_t(i) * B + j];
  }
  float scale[B];
  for (int j = 0; j < B; ++j) scale[j] = total[j] > 1.17549435e-38f ? 1.0f / std::sqrt(total[j]) : 0.0f;
  for (int i = 0; i < n; ++i) {
#pragma omp simd
    for (int j = 0; j < B; ++j) psi[int64_t(i) * B + j] *= scale[j];
  }
}

struct Probe {
  int lanes, io, stages, interval;
  int half, size, words, neurons;
  std::vector<float> table;            // (words, neurons, 2, half) workspace neuron factors by input word
  std::vector<float> work_c, work_s;   // (S * W) work-stage rotations
  std::vector<float> out_c, out_s;     // (io, 2^(W+I-1)) output neuron factors
  std::vector<float> c, s, wide, p;    // scratch: one neuron's (half, B) factors; (2^(W+I), B); (words, B)

  Probe(int w, int i, int st, int iv, std::mt19937& rng)
      : lanes(w), io(i), stages(st), interval(iv), half(1 << (w - 1)), size(1 << w), words(1 << i),
        neurons(w * (st + 1)) {
    std::uniform_real_distribution<float> angle(0.0f, 3.14159265f);
    auto fill = [&](std::vector<float>& cos_, std::vector<float>& sin_, size_t n) {
      cos_.resize(n), sin_.resize(n);
      for (size_t k = 0; k < n; ++k) { const float a = angle(rng); cos_[k] = std::cos(a), sin_[k] = std::sin(a); }
    };
    std::vector<float> tc, ts;
    fill(tc, ts, size_t(words) * neurons * half);
    table.resize(2 * tc.size());
    for (int x = 0; x < words; ++x)
      for (int n = 0; n < neurons; ++n)
        for (int k = 0; k < half; ++k) {
          const size_t from = (size_t(x) * neurons + n) * half + k, row = (size_t(x) * neurons + n) * 2 * half;
          table[row + k] = tc[from], table[row + half + k] = ts[from];
        }
    fill(work_c, work_s, size_t(st) * w);
    fill(out_c, out_s, size_t(i) << (w + i - 1));
    c.resize(size_t(half) * B), s.resize(size_t(half) * B);
    wide.resize((size_t(size) << i) * B), p.resize(size_t(words) * B);
  }

  // Workspace neuron `n` for the block's input words `x`: gather its factors, then mix.
  void neuron(float* psi, int n, const int* x) {
    int row[B];  // each sample's row of factors: vector gathers, contiguous stores
    for (int j = 0; j < B; ++j) row[j] = (x[j] * neurons + n) * 2 * half;
    const float* t = table.data();
    for (int k = 0; k < half; ++k) {
#pragma omp simd
      for (int j = 0; j < B; ++j) c[size_t(k) * B + j] = t[row[j] + k], s[size_t(k) * B + j] = t[row[j] + half + k];
    }
    mix<true, true>(psi, lanes, n % lanes, c.data(), s.data());
  }

  // Step 1-4: input stage, then per work stage the rotations and the neurons.
  void workspace(float* psi, const int* x) {
    int n = 0;
    for (int stage = 0; stage <= stages; ++stage) {
      if (stage > 0)
        for (int lane = 0; lane < lanes; ++lane) {
          const int r = (stage - 1) * lanes + lane;
          mix<false, false>(psi, lanes, lane, &work_c[r], &work_s[r]);
        }
      for (int lane = 0; lane < lanes; ++lane) {
        neuron(psi, n, x);
        if (++n % interval == 0) normalize(psi, size);
      }
    }
    if (n % interval != 0) normalize(psi, size);
  }

  // Step 5-7: the output neurons, the word distribution, argmax, postselection. Returns
  // the sum of the measured words' probabilities (a checksum).
  float output(float* psi) {
    const int64_t n = int64_t(size) * B;
    std::copy(psi, psi + n, wide.begin());
    std::fill(wide.begin() + n, wide.end(), 0.0f);
    for (int lane = 0; lane < io; ++lane) {
      const size_t offset = size_t(lane) << (lanes + io - 1);
      mix<true, false>(wide.data(), lanes + io, lane, &out_c[offset], &out_s[offset]);
    }
    for (int w = 0; w < words; ++w) {
      float acc[B] = {};
      const float* a = wide.data() + w * n;
      for (int v = 0; v < size; ++v) {
#pragma omp simd
        for (int j = 0; j < B; ++j) acc[j] += a[int64_t(v) * B + j] * a[int64_t(v) * B + j];
      }
      std::copy(acc, acc + B, &p[size_t(w) * B]);
    }
    int m[B];
    float q[B], checksum = 0;
    for (int j = 0; j < B; ++j) {
      float total = 0;
      m[j] = 0;
      for (int w = 0; w < words; ++w) {
        total += p[size_t(w) * B + j];
        if (p[size_t(w) * B + j] > p[size_t(m[j]) * B + j]) m[j] = w;
      }
      const float weight = p[size_t(m[j]) * B + j];
      q[j] = weight > 1.0842022e-19f ? 1.0f / std::sqrt(weight) : 0.0f;
      checksum += total > 0 ? weight / total : 0.0f;
    }
    for (int v = 0; v < size; ++v) {
#pragma omp simd
      for (int j = 0; j < B; ++j) psi[int64_t(v) * B + j] = wide[m[j] * n + int64_t(v) * B + j] * q[j];
    }
    return checksum;
  }
};

int main(int argc, char** argv) {
  if (argc < 7) {
    std::fprintf(stderr, "usage: %s WORKSPACE IO_WIDTH STAGES STEPS BATCH INTERVAL [SEED]\n", argv[0]);
    return 2;
  }
  const int lanes = std::atoi(argv[1]), io = std::atoi(argv[2]), stages = std::atoi(argv[3]);
  const int steps = std::atoi(argv[4]), batch = std::atoi(argv[5]), interval = std::max(1, std::atoi(argv[6]));
  std::mt19937 rng(argc > 7 ? std::atoi(argv[7]) : 0);
  if (lanes < 1 || io < 1 || stages < 0 || steps < 1 || batch < 1) {
    std::fprintf(stderr, "roofline_probe: bad sizes\n");
    return 2;
  }
  Probe probe(lanes, io, stages, interval, rng);
  const int blocks = (batch + B - 1) / B;
  const int64_t n = int64_t(probe.size) * B;
  std::vector<float> states(blocks * n, 0.0f);
  for (int b = 0; b < blocks; ++b) std::fill(&states[b * n], &states[b * n] + B, 1.0f);  // |0> each
  std::vector<int> inputs(size_t(steps) * blocks * B);
  std::uniform_int_distribution<int> word(0, probe.words - 1);
  for (int& x : inputs) x = word(rng);

  const auto start = std::chrono::steady_clock::now();
  double checksum = 0;
  for (int t = 0; t < steps; ++t) {
    for (int b = 0; b < blocks; ++b) {
      float* psi = &states[b * n];
      probe.workspace(psi, &inputs[(size_t(t) * blocks + b) * B]);
      checksum += probe.output(psi);
    }
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%.9g\n", seconds);
  std::fprintf(stderr, "checksum %.6g\n", checksum);
  return 0;
}
