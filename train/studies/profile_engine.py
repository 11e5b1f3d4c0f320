"""Where a training step's time goes, per engine: `python -m train.studies.profile_engine`.

    python -m train.studies.profile_engine                    # MNIST size: W=8, I=2, S=2, d=2, 100 x 99
    python -m train.studies.profile_engine --engines state_vector --repeats 9
    python -m train.studies.profile_engine --amplification 1   # amplified neurons: complex states
    python -m train.studies.profile_engine --coherent          # the coherent recurrence (order 0)

Times, in one process and one run (median of `--repeats` after a warm-up), the parts of
the training step of `python -m train.studies.bench` (same model and data):
    evaluation   the forward with argmax measurement (what the bench's eval step runs),
    forward      the training forward, teacher-forced, keeping the state before each step,
    backward     the hand-written backward from those states (gradients of the factors
                 and the start state),
    step         the whole Keras train step (`SequenceTaskModel`: loss, factors and their
                 gradient, clipped Adam), and `rest` = step - forward - backward.
For the XLA engine it also counts the kernels (HLO fusions and other top-level
instructions) that one time step of the compiled forward loop launches: each reads and
writes the (batch, 2^W) state, which is where that engine's time goes. Prints a table and
one `PROFILE_JSON` line.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from typing import Any, Callable

import numpy as np

from train.core import quiet


def median_seconds(fn: Callable[[], Any], repeats: int) -> float:
    """Median wall time of `fn()` (results fetched to numpy) after two warm-up calls."""
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    for _ in range(2):
        tf.nest.map_structure(lambda t: t.numpy() if hasattr(t, "numpy") else t, fn())
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        tf.nest.map_structure(lambda t: t.numpy() if hasattr(t, "numpy") else t, fn())
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def loop_kernels(compiled_forward: Any, *args: Any) -> int:
    """Top-level instructions of the compiled forward's while-loop body (one time step)."""
    hlo = compiled_forward.experimental_get_compiler_ir(*args)(stage="optimized_hlo")
    bodies = re.findall(r"\n(%?[\w.-]*body[\w.-]*) [^\n]*\{\n(.*?)\n\}", hlo, flags=re.S)
    if not bodies:
        return -1
    body = max(bodies, key=lambda b: len(b[1]))[1]  # the scan's body (the largest loop)
    skip = ("parameter(", "get-tuple-element(", "tuple(", "constant(", "bitcast(")
    return sum(1 for line in body.splitlines() if "=" in line and not any(s in line for s in skip))


def profile(engine_name: str, batch: int, steps: int, repeats: int, topology: dict[str, Any]) -> dict[str, Any]:
    """The parts of one training step on `engine_name`, in seconds."""
    import qrnn_tfq  # pylint: disable=import-outside-toplevel
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    from qrnn_tfq.engine import SequenceRequest, neuron_factors  # pylint: disable=import-outside-toplevel
    from qrnn_tfq.engine.backward import replay_request  # pylint: disable=import-outside-toplevel
    from qrnn_tfq.training.task_model import SequenceTaskModel  # pylint: disable=import-outside-toplevel

    rng = np.random.default_rng(0)
    shape = (batch, steps, 2)
    data = {
        "inputs": tf.constant(rng.integers(0, 2, shape), tf.float32),
        "targets": tf.constant(rng.integers(0, 2, shape), tf.float32),
        "scored": tf.constant(rng.random(shape[:2]) < 0.1),
    }
    layer = qrnn_tfq.QRNN(io_lanes=2, stages=2, degree=2, seed=0, engine=engine_name, **topology)
    layer(data, training=True)
    config, engine, weights = layer.qrnn_config, layer.cell.engine, layer.cell.weights_tuple
    words = qrnn_tfq.layers.sequence_words(data, 2)
    request = SequenceRequest(words.inputs, words.targets, words.scored).filled(config, tf.float32)  # complex if amplified
    parts: dict[str, Any] = {"engine": engine.name}
    parts["evaluation_s"] = median_seconds(tf.function(lambda: layer.run_sequences(data, training=False).probabilities), repeats)
    if engine.name == "state_vector":
        forward, backward = engine.compiled.forward, engine.compiled.backward
        out, states = forward(config, weights, request)
        replay = replay_request(request, out.measured)
        upstream = dict(d_probabilities=tf.ones_like(out.probabilities), d_postselection=tf.ones_like(out.postselection),
                        d_final_state=tf.zeros_like(out.final_state))
        parts["forward_s"] = median_seconds(lambda: forward(config, weights, request), repeats)
        parts["backward_s"] = median_seconds(lambda: backward(config, weights, replay, states_before=states, **upstream), repeats)
        parts["kernels_per_step"] = loop_kernels(forward, config, weights, request)
    else:
        from qrnn_tfq.native.engine import op_attributes  # pylint: disable=import-outside-toplevel
        from qrnn_tfq.native.library import ops  # pylint: disable=import-outside-toplevel

        library, attrs, factors = ops(), op_attributes(config), neuron_factors(config, weights)
        no_mask, no_draws = tf.zeros([0], tf.bool), tf.zeros([0], tf.float64)

        def forward():
            return library.qrnn_sequence_forward(*factors, request.input_words, request.target_words, request.scored,
                                                 no_mask, no_draws, request.state, measurement="target",
                                                 keep_states=True, Treal=tf.float32, **attrs)

        out = forward()
        upstream = (tf.ones_like(out.probabilities), tf.ones_like(out.postselection), tf.zeros_like(out.final_state))
        parts["forward_s"] = median_seconds(forward, repeats)
        parts["backward_s"] = median_seconds(lambda: library.qrnn_sequence_backward(
            *factors, request.input_words, out.measured, no_mask, out.states, *upstream, **attrs), repeats)
    model = SequenceTaskModel(layer, loss="nll")
    model.compile(optimizer=tf.keras.optimizers.Adam(0.005, global_clipnorm=0.5))
    iterator = iter(tf.data.Dataset.from_tensors(data).repeat())
    train_function = model.make_train_function()
    parts["step_s"] = median_seconds(lambda: train_function(iterator)["loss"], repeats)
    parts["rest_s"] = parts["step_s"] - parts["forward_s"] - parts["backward_s"]
    return parts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m train.studies.profile_engine", description=__doc__.split("\n")[0])
    parser.add_argument("--engines", nargs="+", default=["state_vector", "native"], choices=["state_vector", "native"])
    parser.add_argument("--workspace", type=int, default=8, help="workspace lanes W (default 8, the MNIST model's)")
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--steps", type=int, default=99)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--amplification", type=int, default=0, help="rounds of amplification (complex states)")
    parser.add_argument("--coherent", action="store_true", help="the coherent recurrence (order 0)")
    args = parser.parse_args(argv)
    topology = dict(order=0, recurrence="coherent") if args.coherent else dict(order=2, amplification=args.amplification)
    topology["workspace_lanes"] = args.workspace
    quiet.configure_logging(False)
    rows = [profile(name, args.batch, args.steps, args.repeats, topology) for name in args.engines]
    variant = "coherent, order 0" if args.coherent else f"order 2, amplification {args.amplification}"
    print(f"MNIST model (W={args.workspace}, I=2, S=2, d=2, {variant}), batch {args.batch} x {args.steps} steps, float32, seconds:")
    print(f"{'engine':<13} {'evaluation':>10} {'forward':>8} {'backward':>8} {'rest':>7} {'step':>7} {'kernels/step':>12}")
    for r in rows:
        print(f"{r['engine']:<13} {r['evaluation_s']:>10.4f} {r['forward_s']:>8.4f} {r['backward_s']:>8.4f} "
              f"{r['rest_s']:>7.4f} {r['step_s']:>7.4f} {r.get('kernels_per_step', ''):>12}")
    print("command: python -m train.studies.profile_engine " + " ".join(argv if argv is not None else sys.argv[1:]))
    print("PROFILE_JSON " + json.dumps(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
