"""Classical baselines of the sequence tasks: a SimpleRNN or LSTM with a linear read-out.

The paper compared the QRNN on the DNA task (SPEC section 5) with PyTorch models of 888
parameters: `nn.RNN` (hidden 22) or `nn.LSTM` (hidden 10), one layer, reading each word
one-hot (2^I inputs), followed by `nn.Linear(hidden, 2^I)`. The count is exact only with
PyTorch's parameterisation, which adds two bias vectors (`bias_ih` and `bias_hh`) to
each pre-activation; Keras' cells carry one:

    RNN,  hidden 22:      8*22 + 22*22 + 22 + 22  +  22*8 + 8  =  704 + 184  =  888
    LSTM, hidden 10:  4*(8*10 + 10*10 + 10 + 10)  +  10*8 + 8  =  800 +  88  =  888

(Keras' `SimpleRNN`/`LSTM` give 866 and 848.) So the cells here are Keras RNN cells
(`tf.keras.layers.RNN` owns the loop) with PyTorch's two biases and the paper's
initialisation: input kernel Glorot-uniform (`xavier_uniform_`), recurrent kernel
orthogonal (per gate for the LSTM), biases 0, and the read-out as `nn.Linear`'s default
(uniform in +-1/sqrt(hidden)). Gates are ordered i, f, g, o as in both libraries.

`RecurrentBaseline` implements `qrnn_tfq.training.SequenceModel`: it reads the input words of
a batch (never the targets: a classical model is not postselected) and returns softmax
word distributions (B, T, 2^I), so it trains on the same data, loss, scored steps and
stopping rule as the QRNN. `run_segment` continues from a given state, for the gradient
study (`train.studies.experiments.gradient_norms`).
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import tensorflow as tf

from qrnn_tfq.layers.words import bits_to_words

_keras = tf.keras

BASELINE_KINDS = ("rnn", "lstm")
ENCODINGS = ("one_hot", "bits")
PAPER_HIDDEN = {"rnn": 22, "lstm": 10}  # 888 parameters each for the DNA task (I = 3, one-hot)


def _check_positive_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"Received an invalid value for argument `{name}`, expected a positive integer, got {value!r}.")
    return value


def _check_seed(seed: object) -> int | None:
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise ValueError(f"`seed` must be None or an int >= 0, got {seed!r}.")
    return seed


def _derived_seed(seed: int | None, offset: int) -> int | None:
    """A distinct initializer seed per weight (Keras initializers repeat for equal seeds)."""
    return None if seed is None else seed * 16 + offset


class _BlockOrthogonal:
    """(units, blocks * units) made of `blocks` independent orthogonal (units, units) blocks."""

    def __init__(self, blocks: int, seed: int | None) -> None:
        self.blocks, self.seed = blocks, seed

    def __call__(self, shape: Sequence[int], dtype: Any = None) -> tf.Tensor:
        units = shape[0]
        parts = [
            _keras.initializers.Orthogonal(seed=_derived_seed(self.seed, 8 + block))((units, units), dtype=dtype)
            for block in range(self.blocks)
        ]
        return tf.concat(parts, axis=1)  # (units, blocks * units)


class _TorchCell(_keras.layers.AbstractRNNCell):
    """Shared weights of the two cells: `gates` pre-activations, each with two biases."""

    gates = 1

    def __init__(self, units: int, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.units = _check_positive_int(units, "units")
        self.seed = _check_seed(seed)

    def build(self, input_shape: Any) -> None:
        features = int(input_shape[-1])
        width = self.gates * self.units
        self.kernel = self.add_weight(
            name="kernel", shape=(features, width),
            initializer=_keras.initializers.GlorotUniform(seed=_derived_seed(self.seed, 0)),
        )
        self.recurrent_kernel = self.add_weight(
            name="recurrent_kernel", shape=(self.units, width), initializer=_BlockOrthogonal(self.gates, self.seed)
        )
        self.bias = self.add_weight(name="bias", shape=(width,), initializer="zeros")  # PyTorch's bias_ih
        self.recurrent_bias = self.add_weight(name="recurrent_bias", shape=(width,), initializer="zeros")  # bias_hh
        self.built = True

    def _pre_activation(self, inputs: tf.Tensor, hidden: tf.Tensor) -> tf.Tensor:
        return (
            tf.matmul(inputs, self.kernel) + self.bias
            + tf.matmul(hidden, self.recurrent_kernel) + self.recurrent_bias
        )  # (B, gates * units)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "units": self.units, "seed": self.seed}


@_keras.utils.register_keras_serializable(package="qrnn_tfq")
class TorchSimpleRNNCell(_TorchCell):
    """Elman cell `h' = tanh(x W + b_ih + h U + b_hh)`, PyTorch's `nn.RNN` parameterisation.

    Args:
        units: hidden size, a positive integer.
        seed: seeds the initializers; None draws them at random.
    """

    gates = 1

    @property
    def state_size(self) -> int:
        return self.units

    @property
    def output_size(self) -> int:
        return self.units

    def call(self, inputs: tf.Tensor, states: Sequence[tf.Tensor]) -> tuple[tf.Tensor, list[tf.Tensor]]:
        hidden = states[0] if isinstance(states, (list, tuple)) else states  # (B, units)
        new_hidden = tf.tanh(self._pre_activation(inputs, hidden))  # (B, units)
        return new_hidden, [new_hidden]


@_keras.utils.register_keras_serializable(package="qrnn_tfq")
class TorchLSTMCell(_TorchCell):
    """LSTM cell with PyTorch's `nn.LSTM` parameterisation (gates i, f, g, o; two biases).

    Args:
        units: hidden size, a positive integer.
        seed: seeds the initializers; None draws them at random.
    """

    gates = 4

    @property
    def state_size(self) -> list[int]:
        return [self.units, self.units]  # h, c

    @property
    def output_size(self) -> int:
        return self.units

    def call(self, inputs: tf.Tensor, states: Sequence[tf.Tensor]) -> tuple[tf.Tensor, list[tf.Tensor]]:
        hidden, carry = states  # (B, units) each
        i, f, g, o = tf.split(self._pre_activation(inputs, hidden), 4, axis=-1)  # (B, units) each
        new_carry = tf.sigmoid(f) * carry + tf.sigmoid(i) * tf.tanh(g)
        new_hidden = tf.sigmoid(o) * tf.tanh(new_carry)
        return new_hidden, [new_hidden, new_carry]


_CELLS = {"rnn": TorchSimpleRNNCell, "lstm": TorchLSTMCell}


@_keras.utils.register_keras_serializable(package="qrnn_tfq")
class RecurrentBaseline(_keras.Model):
    """A classical `SequenceModel`: recurrent cell, then a linear read-out and softmax over words.

    Call it on input bits (B, T, I), or on a batch dict with "inputs"; it returns the word
    distributions (B, T, 2^I). Targets, if given, are ignored: at step `t` the model has
    read `inputs[:, :t+1]` only.

    Args:
        kind: "rnn" (`TorchSimpleRNNCell`) or "lstm" (`TorchLSTMCell`).
        io_width: bits per word `I`.
        hidden: hidden size; None takes the paper's (`PAPER_HIDDEN`: rnn 22, lstm 10).
        encoding: "one_hot" (the word index one-hot over 2^I, as the paper fed its
            baselines) or "bits" (the I bits as 0/1 features).
        seed: seeds every initializer; None draws them at random.

    Raises:
        ValueError: an unknown `kind` or `encoding`, or a bad size or seed.
    """

    def __init__(
        self,
        kind: str,
        io_width: int,
        hidden: int | None = None,
        encoding: str = "one_hot",
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if kind not in BASELINE_KINDS:
            raise ValueError(f"`kind` must be one of {list(BASELINE_KINDS)}, got {kind!r}.")
        if encoding not in ENCODINGS:
            raise ValueError(f"`encoding` must be one of {list(ENCODINGS)}, got {encoding!r}.")
        self.kind, self.encoding = kind, encoding
        self.io_width = _check_positive_int(io_width, "io_width")
        self.hidden = _check_positive_int(PAPER_HIDDEN[kind] if hidden is None else hidden, "hidden")
        self.seed = _check_seed(seed)
        self.num_words = 2**self.io_width
        self.features = self.num_words if encoding == "one_hot" else self.io_width
        cell = _CELLS[kind](self.hidden, seed=self.seed, dtype=kwargs.get("dtype"), name=f"{kind}_cell")
        self.recurrent = _keras.layers.RNN(
            cell, return_sequences=True, return_state=True, dtype=kwargs.get("dtype"), name="recurrent"
        )
        limit = 1 / math.sqrt(self.hidden)  # nn.Linear's default initialisation
        self.readout = _keras.layers.Dense(
            self.num_words,
            kernel_initializer=_keras.initializers.RandomUniform(-limit, limit, seed=_derived_seed(self.seed, 1)),
            bias_initializer=_keras.initializers.RandomUniform(-limit, limit, seed=_derived_seed(self.seed, 2)),
            dtype=kwargs.get("dtype"),
            name="readout",
        )
        self.recurrent.build((None, None, self.features))
        self.readout.build((None, None, self.hidden))
        self.built = True

    @property
    def num_parameters(self) -> int:
        """Trainable scalars (888 for the paper's DNA sizes)."""
        return int(sum(math.prod(weight.shape) for weight in self.trainable_weights))

    @property
    def state_parts(self) -> int:
        """Tensors in the recurrent state: 1 (h) for the RNN, 2 (h, c) for the LSTM."""
        return 1 if self.kind == "rnn" else 2

    def encode(self, bits: Any) -> tf.Tensor:
        """Input bits (B, T, I) -> model features (B, T, 2^I one-hot or I bits)."""
        if self.encoding == "one_hot":
            return tf.one_hot(bits_to_words(bits, self.io_width, "inputs"), self.num_words, dtype=self.compute_dtype)
        bits = tf.convert_to_tensor(bits)
        if bits.shape.rank != 3 or bits.shape[-1] != self.io_width:
            raise ValueError(f"`inputs` must have shape (B, T, {self.io_width}), got {bits.shape}.")
        return tf.cast(bits, self.compute_dtype)

    def run_segment(
        self, batch: Mapping[str, Any] | Any, state: Sequence[tf.Tensor] | None = None
    ) -> tuple[tf.Tensor, list[tf.Tensor]]:
        """Run over the batch's steps from `state` (None: zeros).

        Returns:
            (word distributions (B, T, 2^I), final state as a list of `state_parts`
            tensors (B, hidden)).
        """
        bits = batch["inputs"] if isinstance(batch, Mapping) else batch
        features = self.encode(bits)  # (B, T, features)
        initial = None if state is None else list(state)
        sequence, *final = self.recurrent(features, initial_state=initial)  # (B, T, hidden), parts (B, hidden)
        logits = self.readout(sequence)  # (B, T, 2^I)
        return tf.nn.softmax(logits, axis=-1), final

    def probabilities(self, batch: Mapping[str, Any], training: bool = True) -> tf.Tensor:
        """`SequenceModel`: (B, T, 2^I) word distributions (`training` changes nothing here)."""
        return self.run_segment(batch)[0]

    def call(self, inputs: Any, training: bool | None = None) -> tf.Tensor:
        return self.run_segment(inputs)[0]

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "kind": self.kind, "io_width": self.io_width, "hidden": self.hidden,
            "encoding": self.encoding, "seed": self.seed,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "RecurrentBaseline":
        return cls(**config)
