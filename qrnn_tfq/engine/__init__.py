"""TensorFlow state-vector engine of the postselected QRNN recurrence (SPEC sections 2-4).

Pure TF functions on tensors, no Keras: `neuron_factors` once per forward pass, `cell_step`
per time step, `run_sequence` over a whole sequence. Every call takes the topology, the
weights (or factors) and one request value, `SequenceRequest` or `StepRequest`, holding
the rest (inputs, targets, scored, measurement, seed, mask, state).
"""

from qrnn_tfq.engine.base import Engine as Engine
from qrnn_tfq.engine.base import StateVectorEngine as StateVectorEngine
from qrnn_tfq.engine.base import check_memory as check_memory
from qrnn_tfq.engine.factors import NeuronFactors as NeuronFactors
from qrnn_tfq.engine.factors import QRNNWeights as QRNNWeights
from qrnn_tfq.engine.factors import neuron_angles as neuron_angles
from qrnn_tfq.engine.factors import neuron_cos_sin as neuron_cos_sin
from qrnn_tfq.engine.factors import neuron_factors as neuron_factors
from qrnn_tfq.engine.sequence import SequenceOutputs as SequenceOutputs
from qrnn_tfq.engine.sequence import SequenceRequest as SequenceRequest
from qrnn_tfq.engine.sequence import initial_state as initial_state
from qrnn_tfq.engine.sequence import run_sequence as run_sequence
from qrnn_tfq.engine.step import MEASUREMENTS as MEASUREMENTS
from qrnn_tfq.engine.step import StepOutputs as StepOutputs
from qrnn_tfq.engine.step import StepRequest as StepRequest
from qrnn_tfq.engine.step import apply_neuron as apply_neuron
from qrnn_tfq.engine.step import cell_step as cell_step

__all__ = [
    "MEASUREMENTS",
    "Engine",
    "NeuronFactors",
    "QRNNWeights",
    "SequenceOutputs",
    "SequenceRequest",
    "StateVectorEngine",
    "StepOutputs",
    "StepRequest",
    "apply_neuron",
    "cell_step",
    "check_memory",
    "initial_state",
    "neuron_angles",
    "neuron_cos_sin",
    "neuron_factors",
    "run_sequence",
]
