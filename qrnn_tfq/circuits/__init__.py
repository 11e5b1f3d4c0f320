"""Symbolic Cirq circuits of the QRNN and their postselected simulation (SPEC sections 2, 3, 7).

No TensorFlow is imported here; only `simulate_postselected_tfq` imports it, when called.
Circuits serialize with `cirq.to_json`; read them back with
`cirq.read_json(json_text=text, resolvers=json_resolvers())`.
"""

from qrnn_tfq.circuits.cell import OUTPUT_KEY as OUTPUT_KEY
from qrnn_tfq.circuits.cell import cell_circuit as cell_circuit
from qrnn_tfq.circuits.cell import num_cell_ancillas as num_cell_ancillas
from qrnn_tfq.circuits.cell import resolver as resolver
from qrnn_tfq.circuits.cell import resolver_values as resolver_values
from qrnn_tfq.circuits.cell import symbols as symbols
from qrnn_tfq.circuits.neuron import PostselectTag as PostselectTag
from qrnn_tfq.circuits.neuron import json_resolver as json_resolver
from qrnn_tfq.circuits.neuron import json_resolvers as json_resolvers
from qrnn_tfq.circuits.neuron import neuron_circuit as neuron_circuit
from qrnn_tfq.circuits.neuron import num_neuron_ancillas as num_neuron_ancillas
from qrnn_tfq.circuits.neuron import parameter_block as parameter_block
from qrnn_tfq.circuits.postselect import basis_state_preparation as basis_state_preparation
from qrnn_tfq.circuits.postselect import product_state as product_state
from qrnn_tfq.circuits.postselect import product_state_preparation as product_state_preparation
from qrnn_tfq.circuits.postselect import simulate_postselected as simulate_postselected
from qrnn_tfq.circuits.postselect import simulate_postselected_tfq as simulate_postselected_tfq

__all__ = [
    "OUTPUT_KEY",
    "PostselectTag",
    "basis_state_preparation",
    "cell_circuit",
    "json_resolver",
    "json_resolvers",
    "neuron_circuit",
    "num_cell_ancillas",
    "num_neuron_ancillas",
    "parameter_block",
    "product_state",
    "product_state_preparation",
    "resolver",
    "resolver_values",
    "simulate_postselected",
    "simulate_postselected_tfq",
    "symbols",
]
