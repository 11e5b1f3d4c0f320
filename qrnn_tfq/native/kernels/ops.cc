// Registration of the fused QRNN sequence ops and their shape functions. The kernels are
// in kernels.cc; the Python side (qrnn_tfq/native/ops.py) joins the two ops with
// tf.custom_gradient, as qrnn_tfq/engine/compiled.py joins the TensorFlow engine's passes.
#include "tensorflow/core/framework/op.h"
#include "tensorflow/core/framework/shape_inference.h"

namespace qrnn {

using ::tensorflow::Status;
using ::tensorflow::shape_inference::DimensionHandle;
using ::tensorflow::shape_inference::InferenceContext;
using ::tensorflow::shape_inference::ShapeHandle;

REGISTER_OP("QrnnSequenceForward")
    .Input("table: T")            // (words, N_ws * 2 * 2^(W-1)) workspace neurons' [c, s] by input word
    .Input("gains: T")            // (words, 2^W) the output stage's factors
    .Input("work_cos: T")         // (S, W)
    .Input("work_sin: T")         // (S, W)
    .Input("input_words: int32")  // (B, T)
    .Input("target_words: int32") // (B, T)
    .Input("scored: bool")        // (B, T)
    .Input("mask: bool")          // (B, T), or (0,) for no mask
    .Input("uniform: double")     // (B, T) draws of measurement "sample", or (0,)
    .Input("start: T")            // (B, 2^W)
    .Output("probabilities: Treal")  // (B, T, words)
    .Output("measured: int32")       // (B, T)
    .Output("postselection: Treal")  // (B, T)
    .Output("states: T")             // (B, T, 2^W) with keep_states, else (0,)
    .Output("final_state: T")        // (B, 2^W)
    .Output("ancilla_success: Treal")  // (B, T)
    .Attr("T: {float, double, complex64, complex128}")
    .Attr("Treal: {float, double}")
    .Attr("lanes: int >= 1")
    .Attr("stages: int >= 0")
    .Attr("interval: int >= 1")
    .Attr("measurement: {'target', 'sample', 'argmax'}")
    .Attr("coherent: bool")
    .Attr("keep_states: bool")
    .SetShapeFn([](InferenceContext* c) -> Status {
      ShapeHandle table, words, start;
      TF_RETURN_IF_ERROR(c->WithRank(c->input(0), 2, &table));
      TF_RETURN_IF_ERROR(c->WithRank(c->input(4), 2, &words));
      TF_RETURN_IF_ERROR(c->WithRank(c->input(9), 2, &start));
      DimensionHandle batch = c->Dim(words, 0), steps = c->Dim(words, 1);
      bool keep_states;
      TF_RETURN_IF_ERROR(c->GetAttr("keep_states", &keep_states));
      c->set_output(0, c->MakeShape({batch, steps, c->Dim(table, 0)}));
      c->set_output(1, words);
      c->set_output(2, words);
      c->set_output(3, keep_states ? c->MakeShape({batch, steps, c->Dim(start, 1)}) : c->MakeShape({0}));
      c->set_output(4, start);
      c->set_output(5, words);
      return ::tensorflow::OkStatus();
    })
    .Doc("The QRNN recurrence over whole sequences, every step's neurons fused (SPEC 2-4).");

REGISTER_OP("QrnnSequenceBackward")
    .Input("table: T")
    .Input("gains: T")
    .Input("work_cos: T")
    .Input("work_sin: T")
    .Input("input_words: int32")     // (B, T)
    .Input("measured_words: int32")  // (B, T) the forward's measured words, replayed
    .Input("mask: bool")             // (B, T), or (0,)
    .Input("states: T")              // (B, T, 2^W) the forward's states before each step
    .Input("d_probabilities: Treal") // (B, T, words)
    .Input("d_postselection: Treal") // (B, T)
    .Input("d_final_state: T")       // (B, 2^W)
    .Output("d_table: T")
    .Output("d_gains: T")
    .Output("d_work_cos: T")
    .Output("d_work_sin: T")
    .Output("d_start: T")
    .Attr("T: {float, double, complex64, complex128}")
    .Attr("Treal: {float, double}")
    .Attr("lanes: int >= 1")
    .Attr("stages: int >= 0")
    .Attr("interval: int >= 1")
    .Attr("coherent: bool")
    .SetShapeFn([](InferenceContext* c) -> Status {
      for (int i = 0; i < 4; ++i) c->set_output(i, c->input(i));
      c->set_output(4, c->input(10));
      return ::tensorflow::OkStatus();
    })
    .Doc("The adjoint of QrnnSequenceForward: gradients of the factors and the start state.");

}  // namespace qrnn
