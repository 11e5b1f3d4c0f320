"""`HardwareQRNN`: trains with model.fit, round-trips through .keras, refuses bad settings."""

from __future__ import annotations

import cirq
import numpy as np
import pytest
import tensorflow as tf

import qrnn_tfq
from data.bit_tasks import bit_task
from qrnn_tfq.hardware.devices import hardware_device
from qrnn_tfq.layers import HardwareQRNN


def test_fit_learns_the_xor_bits_without_noise() -> None:
    batch = bit_task("xor", 64, length=6, seed=0)
    layer = HardwareQRNN(device="willow", scored=batch.scored, noisy=False, seed=0)
    model = tf.keras.Sequential([layer])
    model.compile(tf.keras.optimizers.Adam(0.05), loss="binary_crossentropy")
    tf.keras.utils.set_random_seed(0)
    history = model.fit(batch.inputs, batch.targets, batch_size=16, epochs=6, verbose=0)
    assert history.history["loss"][-1] < 0.05 < 0.2 < history.history["loss"][0]
    test = bit_task("xor", 16, length=6, seed=1)
    np.testing.assert_array_equal(model.predict(test.inputs, verbose=0) > 0.5, test.targets == 1)


def test_noise_changes_the_readouts_and_scales() -> None:
    batch = bit_task("xor", 4, length=6, seed=0)
    outputs = {}
    for noisy, scale in ((False, 1.0), (True, 1.0), (True, 4.0)):
        layer = HardwareQRNN(device="rainbow", scored=batch.scored, noisy=noisy, noise_scale=scale, seed=0)
        layer.build((None, 5))
        layer.kernel.assign([0.0, np.pi])
        outputs[noisy, scale] = np.where(batch.targets == 1, layer(batch.inputs), 1 - layer(batch.inputs).numpy())
    assert outputs[False, 1.0].min() > 1 - 1e-12
    assert 0.5 < outputs[True, 4.0].mean() < outputs[True, 1.0].mean() < 1 - 1e-3


def test_keras_file_round_trip(tmp_path: pytest.TempPathFactory) -> None:
    batch = bit_task("parity", 3, length=4, seed=0)
    model = tf.keras.Sequential([HardwareQRNN(device="willow", lanes=2, scored=batch.scored, seed=3)])
    before = model(batch.inputs).numpy()
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = qrnn_tfq.load_model(path)
    np.testing.assert_array_equal(loaded(batch.inputs).numpy(), before)
    assert loaded.layers[0].get_config() == model.layers[0].get_config()


def test_seeded_start_has_the_input_angle() -> None:
    layer = HardwareQRNN(scored=[True], seed=4, initial_stddev=0.0)
    layer.build((None, 1))
    np.testing.assert_allclose(layer.kernel.numpy(), [0.0, 0.75 * np.pi])
    first, second = (HardwareQRNN(lanes=2, scored=[True], seed=4) for _ in range(2))
    first.build((None, 1))
    second.build((None, 1))
    np.testing.assert_array_equal(first.kernel.numpy(), second.kernel.numpy())


def test_two_qubit_counts_of_a_sequence() -> None:
    layer = HardwareQRNN(device="willow", lanes=2, scored=[False, True, False, True])
    assert layer.two_qubit_counts() == {"gate": "cz", "step": 4, "scored_step": 6, "readout": 2, "sequence": 20}


def test_bad_settings_are_refused_by_name() -> None:
    with pytest.raises(ValueError, match="`scored` must be a sequence of bools with at least one True"):
        HardwareQRNN(scored=[False, False])
    with pytest.raises(ValueError, match="`noisy` must be a bool, got 'yes'"):
        HardwareQRNN(scored=[True], noisy="yes")
    with pytest.raises(ValueError, match="Noise scale 9.0 is outside"):
        HardwareQRNN(scored=[True], noise_scale=9.0)
    with pytest.raises(ValueError, match="`lanes` must be an integer in"):
        HardwareQRNN(scored=[True], lanes=5)


def test_device_circuit_is_the_sequence_the_device_runs() -> None:
    layer = HardwareQRNN(device="rainbow", scored=[False, True, False, True])
    layer.build((None, 4))
    layer.kernel.assign([0.0, np.pi])
    circuit = layer.device_circuit([1, 0, 1, 1])
    hardware_device("rainbow").validate_circuit(circuit)
    result = cirq.Simulator(seed=0).run(circuit, repetitions=10)
    np.testing.assert_array_equal(result.measurements["out_000"], 1)
    np.testing.assert_array_equal(result.measurements["out_001"], 1)  # 1 xor 0 xor 1 xor 1
    with pytest.raises(ValueError, match=r"`input_bits` must be 4 bits \(0 or 1\), got \[1, 2\]"):
        layer.device_circuit([1, 2])
