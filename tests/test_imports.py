"""What importing the package loads: the circuits need no TensorFlow, the layers load it lazily,
and importing changes nothing global beyond selecting tf-keras.

Each check runs in a fresh interpreter, since this test process has long imported TensorFlow.
"""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import textwrap

import numpy as np

import qrnn_tfq
import tensorflow as tf

REPO = pathlib.Path(__file__).resolve().parents[1]


def _run(code: str) -> str:
    """Runs `code` in a fresh interpreter at the repository root; returns its stdout."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], cwd=REPO, capture_output=True, text=True, timeout=300,
        env={**{k: v for k, v in os.environ.items() if k != "TF_USE_LEGACY_KERAS"}, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_circuits_and_config_import_no_tensorflow():
    out = _run("""
        import pkgutil, sys
        import cirq
        import qrnn_tfq.circuits, qrnn_tfq.config
        from qrnn_tfq.circuits import cell_circuit, num_cell_ancillas
        for module in pkgutil.iter_modules(qrnn_tfq.circuits.__path__):  # every circuit module
            __import__(f"qrnn_tfq.circuits.{module.name}")
        config = qrnn_tfq.QRNNConfig(workspace_lanes=2, io_lanes=1, stages=1, degree=2, order=2)
        n = config.num_lanes
        circuit = cell_circuit(config, cirq.LineQubit.range(n), cirq.LineQubit.range(n, n + num_cell_ancillas(config)))
        cirq.to_json(circuit)
        import os
        loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "tf_keras", "keras", "tensorflow_quantum"))
        print(loaded, os.environ["TF_USE_LEGACY_KERAS"], len(circuit) > 0)
    """)
    assert out.strip() == "[] 1 True"


def test_importing_changes_nothing_but_the_keras_choice_and_load_model_registers(tmp_path):
    # `import qrnn_tfq` sets TF_USE_LEGACY_KERAS and nothing else: no import hook, and
    # importing TensorFlow after it loads none of the package. A Keras class registers when
    # its module is imported; `qrnn_tfq.load_model` imports them all. (One fresh interpreter
    # for all of it: each costs seconds.)
    layer = qrnn_tfq.QRNN(workspace_lanes=2, io_lanes=1, stages=0, degree=1, measurement="argmax", seed=0)
    model = tf.keras.Sequential([tf.keras.Input((None, 1)), layer])
    model.compile(loss=qrnn_tfq.WordCrossEntropy(), metrics=[qrnn_tfq.MinPostselectionProbability()])
    bits = np.array([[[1], [0], [1]]], np.float32)
    expected = model.predict(bits, verbose=0)
    model.save(tmp_path / "model.keras")
    np.save(tmp_path / "bits.npy", bits)
    out = _run(f"""
        import os, sys
        import numpy as np
        finders = list(sys.meta_path)
        import qrnn_tfq
        assert sys.meta_path == finders, sys.meta_path
        assert "tensorflow" not in sys.modules
        import tensorflow as tf
        from tf_keras.src.saving import object_registration
        package = sorted(m for m in sys.modules if m.startswith("qrnn_tfq."))
        assert package == ["qrnn_tfq._keras", "qrnn_tfq.amplification", "qrnn_tfq.config"], package
        assert object_registration.get_registered_object("qrnn_tfq>QRNN") is None
        # The engine imports TensorFlow, not the layers, nor TFQ; importing the layers registers them.
        import qrnn_tfq.engine
        assert object_registration.get_registered_object("qrnn_tfq>QRNN") is None
        assert "qrnn_tfq.layers" not in sys.modules and "tensorflow_quantum" not in sys.modules
        import qrnn_tfq.layers
        assert object_registration.get_registered_object("qrnn_tfq>QRNN").__name__ == "QRNN"
        assert "qrnn_tfq.layers.hardware" not in sys.modules  # HardwareQRNN loads on first use (cirq_google)
        assert "qrnn_tfq.tfq" not in sys.modules  # the TFQ engine loads when a layer asks for it
        model = qrnn_tfq.load_model({str(tmp_path / "model.keras")!r})
        from qrnn_tfq import QRNN
        assert isinstance(model.layers[0], QRNN), model.layers
        assert [m.name for m in model.compiled_metrics._user_metrics] == ["min_postselection"]
        for name in ("RecurrentBaseline", "SequenceTaskModel", "WordCrossEntropy", "QRNNCell", "HardwareQRNN"):
            assert object_registration.get_registered_object(f"qrnn_tfq>{{name}}") is not None, name
        assert set(qrnn_tfq.__all__) <= set(dir(qrnn_tfq)), dir(qrnn_tfq)
        assert all(getattr(qrnn_tfq, name) is not None for name in qrnn_tfq.__all__)
        try:
            qrnn_tfq.NoSuchName
        except AttributeError as error:
            assert "NoSuchName" in str(error)
        else:
            raise AssertionError("qrnn_tfq.NoSuchName did not raise")
        np.save({str(tmp_path / "out.npy")!r}, model.predict(np.load({str(tmp_path / "bits.npy")!r}), verbose=0))
        print(os.environ["TF_USE_LEGACY_KERAS"], tf.keras.Model.__module__.split(".")[0])
    """)
    assert out.split()[-2:] == ["1", "tf_keras"]
    np.testing.assert_allclose(np.load(tmp_path / "out.npy"), expected, atol=1e-6)


def test_the_library_imports_nothing_from_the_programs():
    """`qrnn_tfq` stands alone: no module imports the top-level `data` or `train` packages
    (the batch contract lives in `qrnn_tfq.batch`)."""
    import ast

    package = pathlib.Path(qrnn_tfq.__file__).parent
    offenders = []
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else [])
            offenders += [f"{path.relative_to(package)}: {name}" for name in names if name.split(".")[0] in ("data", "train")]
    assert offenders == []
