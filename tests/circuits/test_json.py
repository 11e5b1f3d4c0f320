"""Cell circuits, postselection tags included, survive Cirq's JSON round trip."""

from __future__ import annotations

import cirq
import pytest

from qrnn_tfq.circuits import PostselectTag, cell_circuit, json_resolver, json_resolvers, num_cell_ancillas
from qrnn_tfq.config import QRNNConfig


def _cell(order: int, fresh_ancillas: bool = False) -> tuple[QRNNConfig, cirq.Circuit]:
    config = QRNNConfig(workspace_lanes=2, io_lanes=1, stages=1, degree=2, order=order)
    n = config.num_lanes
    lanes = cirq.LineQubit.range(n)
    ancillas = cirq.LineQubit.range(n, n + num_cell_ancillas(config, fresh_ancillas))
    circuit = cell_circuit(config, lanes, ancillas, input_word=[1], fresh_ancillas=fresh_ancillas, measure_output=True)
    return config, circuit


def test_postselect_tag_round_trips_alone():
    text = cirq.to_json(PostselectTag())
    assert '"cirq_type": "qrnn_tfq.PostselectTag"' in text
    assert cirq.read_json(json_text=text, resolvers=json_resolvers()) == PostselectTag()


def test_tagged_measurement_round_trips():
    op = cirq.measure(cirq.LineQubit(3), key="post").with_tags(PostselectTag())
    restored = cirq.read_json(json_text=cirq.to_json(op), resolvers=json_resolvers())
    assert restored == op and restored.tags == (PostselectTag(),)


@pytest.mark.parametrize("order, fresh_ancillas", [(2, False), (1, False), (2, True)])
def test_cell_circuit_round_trips_with_its_postselections_and_symbols(order, fresh_ancillas):
    config, circuit = _cell(order, fresh_ancillas)
    tagged = [op for op in circuit.all_operations() if PostselectTag() in op.tags]
    assert len(tagged) == (0 if fresh_ancillas else config.num_neurons * (2**order - 1))
    restored = cirq.read_json(json_text=cirq.to_json(circuit), resolvers=json_resolvers())
    assert restored == circuit
    assert cirq.parameter_names(restored) == set(config.symbol_names())
    assert [op for op in restored.all_operations() if PostselectTag() in op.tags] == tagged


def test_resolver_passes_on_other_types_and_plain_read_json_names_the_type():
    assert json_resolver("qrnn_tfq.PostselectTag") is PostselectTag
    assert json_resolver("LineQubit") is None
    assert json_resolvers()[1:] == list(cirq.DEFAULT_RESOLVERS)
    with pytest.raises(ValueError, match="qrnn_tfq.PostselectTag"):
        cirq.read_json(json_text=cirq.to_json(PostselectTag()))  # without our resolver
