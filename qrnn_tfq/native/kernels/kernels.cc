// CPU kernels of the fused QRNN sequence ops (ops.cc): the batch is split over the threads
// TensorFlow gives an op, each sample runs its whole sequence in one core's cache
// (recurrence.h). The checks name the bad value, as the TensorFlow engine's do.
#include <algorithm>
#include <complex>
#include <string>
#include <vector>

#include "recurrence.h"
#include "tensorflow/core/framework/op_kernel.h"
#include "tensorflow/core/framework/tensor.h"
#include "tensorflow/core/platform/threadpool.h"

namespace qrnn {

using ::tensorflow::DEVICE_CPU;
using ::tensorflow::OpKernel;
using ::tensorflow::OpKernelConstruction;
using ::tensorflow::OpKernelContext;
using ::tensorflow::Tensor;
using ::tensorflow::TensorShape;
namespace errors = ::tensorflow::errors;

// The topology attributes both ops share.
struct Topology {
  int lanes = 0, stages = 0, interval = 1;
  bool coherent = false;
  explicit Topology(OpKernelConstruction* ctx) {
    OP_REQUIRES_OK(ctx, ctx->GetAttr("lanes", &lanes));
    OP_REQUIRES_OK(ctx, ctx->GetAttr("stages", &stages));
    OP_REQUIRES_OK(ctx, ctx->GetAttr("interval", &interval));
    OP_REQUIRES_OK(ctx, ctx->GetAttr("coherent", &coherent));
    OP_REQUIRES(ctx, lanes >= 1 && lanes <= 30, errors::InvalidArgument("`lanes` must be 1..30, got ", lanes));
  }
};

std::string shape_text(const Tensor& t) { return t.shape().DebugString(); }

// OP_REQUIRES for the checking helpers, which return false after setting the op's error.
#define QRNN_CHECK(ctx, condition, status) \
  do {                                     \
    if (!(condition)) {                    \
      (ctx)->SetStatus(status);            \
      return false;                        \
    }                                      \
  } while (0)

// Check the factors' shapes against the topology and fill `cell` (gain2: |gains|^2 storage).
template <class T>
bool make_cell(OpKernelContext* ctx, const Topology& top, std::vector<typename Real<T>::type>* gain2, Cell<T>* cell) {
  const Tensor &table = ctx->input(0), &gains = ctx->input(1), &wc = ctx->input(2), &ws = ctx->input(3);
  cell->lanes = top.lanes;
  cell->stages = top.stages;
  cell->interval = top.interval;
  cell->coherent = top.coherent;
  const int64_t words = table.dims() == 2 ? table.dim_size(0) : -1;
  QRNN_CHECK(ctx, table.dims() == 2 && words >= 2 && (words & (words - 1)) == 0 && table.dim_size(1) == cell->row(),
              errors::InvalidArgument("`table` must be (words, ", cell->row(), ") with words a power of two >= 2, got ",
                                      shape_text(table)));
  QRNN_CHECK(ctx, gains.dims() == 2 && gains.dim_size(0) == words && gains.dim_size(1) == cell->size(),
              errors::InvalidArgument("`gains` must be (", words, ", ", cell->size(), "), got ", shape_text(gains)));
  for (const Tensor* w : {&wc, &ws})
    QRNN_CHECK(ctx, w->dims() == 2 && w->dim_size(0) == top.stages && w->dim_size(1) == top.lanes,
                errors::InvalidArgument("work-stage factors must be (", top.stages, ", ", top.lanes, "), got ",
                                        shape_text(*w)));
  cell->words = int(words);
  cell->table = table.flat<T>().data();
  cell->gains = gains.flat<T>().data();
  cell->work_cos = wc.flat<T>().data();
  cell->work_sin = ws.flat<T>().data();
  gain2->resize(gains.NumElements());
  for (int64_t i = 0; i < gains.NumElements(); ++i) (*gain2)[i] = abs2(cell->gains[i]);
  cell->gain2 = gain2->data();
  cell->plan = workspace_plan(top.lanes, top.stages, top.interval);
  return true;
}

// (B, T) int32 words, each in 0 .. words-1.
bool check_words(OpKernelContext* ctx, const Tensor& t, const char* name, int64_t batch, int64_t steps, int words) {
  QRNN_CHECK(ctx, t.dims() == 2 && t.dim_size(0) == batch && t.dim_size(1) == steps,
              errors::InvalidArgument("`", name, "` must be (", batch, ", ", steps, "), got ", shape_text(t)));
  const auto flat = t.flat<int32_t>();
  for (int64_t i = 0; i < flat.size(); ++i)
    QRNN_CHECK(ctx, flat(i) >= 0 && flat(i) < words,
                errors::InvalidArgument("`", name, "` holds word ", flat(i), " at sample ", i / steps, ", step ",
                                        i % steps, ": words are 0..", words - 1));
  return true;
}

bool check_shape(OpKernelContext* ctx, const Tensor& t, const char* name, const TensorShape& want, bool optional) {
  QRNN_CHECK(ctx, t.shape() == want || (optional && t.NumElements() == 0),
              errors::InvalidArgument("`", name, "` must be ", want.DebugString(), optional ? " or empty" : "",
                                      ", got ", shape_text(t)));
  return true;
}

// What both ops check first: the factors (filling `cell`), and the input words (input 4)
// and the words of input 5 (`targets`: the targets, or the measured words replayed), both
// (batch, steps) in range. Sets `batch` and `steps`; false after setting the op's error.
template <class T>
bool check_cell_and_words(OpKernelContext* ctx, const Topology& top, std::vector<typename Real<T>::type>* gain2,
                          Cell<T>* cell, const char* targets, int64_t* batch, int64_t* steps) {
  if (!make_cell<T>(ctx, top, gain2, cell)) return false;
  const Tensor& inputs = ctx->input(4);
  QRNN_CHECK(ctx, inputs.dims() == 2, errors::InvalidArgument("`input_words` must be (B, T), got ", shape_text(inputs)));
  *batch = inputs.dim_size(0);
  *steps = inputs.dim_size(1);
  return check_words(ctx, inputs, "input_words", *batch, *steps, cell->words) &&
         check_words(ctx, ctx->input(5), targets, *batch, *steps, cell->words);
}

// Split `batch` samples over the op's threads; `work(block, begin, end)` per block.
template <class Work>
void over_blocks(OpKernelContext* ctx, int64_t batch, int64_t cost_per_sample, int blocks, Work work) {
  auto* pool = ctx->device()->tensorflow_cpu_worker_threads()->workers;
  const int64_t per = (batch + blocks - 1) / blocks;
  pool->ParallelFor(blocks, cost_per_sample * per, [&](int64_t first, int64_t last) {
    for (int64_t k = first; k < last; ++k) work(int(k), std::min(batch, k * per), std::min(batch, (k + 1) * per));
  });
}

int num_blocks(OpKernelContext* ctx, int64_t batch) {
  const int threads = ctx->device()->tensorflow_cpu_worker_threads()->num_threads;
  return int(std::max<int64_t>(1, std::min<int64_t>(batch, 4 * threads)));
}

template <class T, class R>
class ForwardOp : public OpKernel {
 public:
  explicit ForwardOp(OpKernelConstruction* ctx) : OpKernel(ctx), top_(ctx) {
    std::string measurement;
    OP_REQUIRES_OK(ctx, ctx->GetAttr("measurement", &measurement));
    OP_REQUIRES_OK(ctx, ctx->GetAttr("keep_states", &keep_states_));
    mode_ = measurement == "sample" ? kSample : measurement == "argmax" ? kArgmax : kTarget;
  }

  void Compute(OpKernelContext* ctx) override {
    Cell<T> cell;
    std::vector<R> gain2;
    int64_t batch, steps;
    if (!check_cell_and_words<T>(ctx, top_, &gain2, &cell, "target_words", &batch, &steps)) return;
    const int64_t n = cell.size(), words = cell.words;
    const TensorShape per_step({batch, steps});
    if (!check_shape(ctx, ctx->input(6), "scored", per_step, false)) return;
    if (!check_shape(ctx, ctx->input(7), "mask", per_step, true)) return;
    if (!check_shape(ctx, ctx->input(8), "uniform", per_step, mode_ != kSample)) return;
    if (!check_shape(ctx, ctx->input(9), "start", TensorShape({batch, n}), false)) return;
    Tensor *probabilities, *measured, *postselection, *states, *final_state, *success;
    OP_REQUIRES_OK(ctx, ctx->allocate_output(0, TensorShape({batch, steps, words}), &probabilities));
    OP_REQUIRES_OK(ctx, ctx->allocate_output(1, per_step, &measured));
    OP_REQUIRES_OK(ctx, ctx->allocate_output(2, per_step, &postselection));
    OP_REQUIRES_OK(ctx, ctx->allocate_output(3, keep_states_ ? TensorShape({batch, steps, n}) : TensorShape({0}), &states));
    OP_REQUIRES_OK(ctx, ctx->allocate_output(4, TensorShape({batch, n}), &final_state));
    OP_REQUIRES_OK(ctx, ctx->allocate_output(5, per_step, &success));
    const bool masked = ctx->input(7).NumElements() > 0, sampled = ctx->input(8).NumElements() > 0;
    const int64_t cost = steps * int64_t(cell.plan.size() + words) * n * 4;
    over_blocks(ctx, batch, cost, num_blocks(ctx, batch), [&](int, int64_t begin, int64_t end) {
      Scratch<T> scratch(cell, false);
      for (int64_t b = begin; b < end; ++b) {
        Sample<T> io;
        io.steps = int(steps);
        io.input = ctx->input(4).flat<int32_t>().data() + b * steps;
        io.target = ctx->input(5).flat<int32_t>().data() + b * steps;
        io.scored = ctx->input(6).flat<bool>().data() + b * steps;
        io.mask = masked ? ctx->input(7).flat<bool>().data() + b * steps : nullptr;
        io.uniform = sampled ? ctx->input(8).flat<double>().data() + b * steps : nullptr;
        io.start = ctx->input(9).flat<T>().data() + b * n;
        io.probabilities = probabilities->flat<R>().data() + b * steps * words;
        io.measured = measured->flat<int32_t>().data() + b * steps;
        io.postselection = postselection->flat<R>().data() + b * steps;
        io.success = success->flat<R>().data() + b * steps;
        io.states = keep_states_ ? states->flat<T>().data() + b * steps * n : nullptr;
        io.final_state = final_state->flat<T>().data() + b * n;
        forward_sample(cell, mode_, io, &scratch);
      }
    });
  }

 private:
  Topology top_;
  Measurement mode_ = kTarget;
  bool keep_states_ = true;
};

template <class T, class R>
class BackwardOp : public OpKernel {
 public:
  explicit BackwardOp(OpKernelConstruction* ctx) : OpKernel(ctx), top_(ctx) {}

  void Compute(OpKernelContext* ctx) override {
    Cell<T> cell;
    std::vector<R> gain2;
    int64_t batch, steps;
    if (!check_cell_and_words<T>(ctx, top_, &gain2, &cell, "measured_words", &batch, &steps)) return;
    const int64_t n = cell.size(), words = cell.words;
    if (!check_shape(ctx, ctx->input(6), "mask", TensorShape({batch, steps}), true)) return;
    if (!check_shape(ctx, ctx->input(7), "states", TensorShape({batch, steps, n}), false)) return;
    if (!check_shape(ctx, ctx->input(8), "d_probabilities", TensorShape({batch, steps, words}), false)) return;
    if (!check_shape(ctx, ctx->input(9), "d_postselection", TensorShape({batch, steps}), false)) return;
    if (!check_shape(ctx, ctx->input(10), "d_final_state", TensorShape({batch, n}), false)) return;
    Tensor* outs[5];
    for (int i = 0; i < 4; ++i) OP_REQUIRES_OK(ctx, ctx->allocate_output(i, ctx->input(i).shape(), &outs[i]));
    OP_REQUIRES_OK(ctx, ctx->allocate_output(4, TensorShape({batch, n}), &outs[4]));
    const bool masked = ctx->input(6).NumElements() > 0;
    const int blocks = num_blocks(ctx, batch);
    std::vector<Grads<T>> grads(blocks, Grads<T>(cell));
    const int64_t cost = steps * int64_t(cell.plan.size() + words) * n * 12;
    over_blocks(ctx, batch, cost, blocks, [&](int block, int64_t begin, int64_t end) {
      Scratch<T> scratch(cell, true);
      for (int64_t b = begin; b < end; ++b) {
        Sample<T> io;
        io.steps = int(steps);
        io.input = ctx->input(4).flat<int32_t>().data() + b * steps;
        io.target = ctx->input(5).flat<int32_t>().data() + b * steps;
        io.mask = masked ? ctx->input(6).flat<bool>().data() + b * steps : nullptr;
        io.states = const_cast<T*>(ctx->input(7).flat<T>().data()) + b * steps * n;
        backward_sample(cell, io, ctx->input(8).flat<R>().data() + b * steps * words,
                        ctx->input(9).flat<R>().data() + b * steps, ctx->input(10).flat<T>().data() + b * n,
                        outs[4]->flat<T>().data() + b * n, &grads[block], &scratch);
      }
    });
    // Sum the blocks in a fixed order: the same inputs give the same gradients.
    const std::vector<T> Grads<T>::*parts[4] = {&Grads<T>::table, &Grads<T>::gains, &Grads<T>::work_cos, &Grads<T>::work_sin};
    for (int i = 0; i < 4; ++i) {
      T* out = outs[i]->flat<T>().data();
      std::fill(out, out + outs[i]->NumElements(), T(0));
      for (const Grads<T>& g : grads) {
        const std::vector<T>& part = g.*parts[i];
        for (size_t k = 0; k < part.size(); ++k) out[k] += part[k];
      }
    }
  }

 private:
  Topology top_;
};

#define QRNN_REGISTER(T, R)                                                                                       \
  REGISTER_KERNEL_BUILDER(                                                                                        \
      Name("QrnnSequenceForward").Device(DEVICE_CPU).TypeConstraint<T>("T").TypeConstraint<R>("Treal"),           \
      ForwardOp<T, R>);                                                                                           \
  REGISTER_KERNEL_BUILDER(                                                                                        \
      Name("QrnnSequenceBackward").Device(DEVICE_CPU).TypeConstraint<T>("T").TypeConstraint<R>("Treal"),          \
      BackwardOp<T, R>);

QRNN_REGISTER(float, float)
QRNN_REGISTER(double, double)
QRNN_REGISTER(std::complex<float>, float)
QRNN_REGISTER(std::complex<double>, double)

}  // namespace qrnn
