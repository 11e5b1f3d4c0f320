"""Writing and reading exported circuits: Cirq JSON, OpenQASM 2 and the cirq_google proto.

Every file is written to a temporary name in its folder and moved into place with
`os.replace`, so a reader sees the old file or the new one, never half of one.

    cirq JSON   `cirq.to_json`; keeps everything, including `PostselectTag` on the
                postselections (read back with `read_json`, which passes this package's
                resolvers to `cirq.read_json`). Shared sub-circuits are stored once.
    OpenQASM 2  `cirq.qasm`; gates as `u3`/`cz`/..., measurements into one classical
                register per key, angles with 10 significant digits, no tags.
    proto       `cirq_google.CIRCUIT_SERIALIZER` (`cirq_google.api.v2.Program`), what
                Google's Quantum Engine takes; tags are left out (the device knows none
                of ours; postselections keep their keys `post_...`/`success_...`) and
                angles are stored as 32-bit floats.
"""

from __future__ import annotations

import os
from typing import Any

import cirq
import cirq_google
from cirq_google.api import v2

from qrnn_tfq.atomic import atomic_write as atomic_write
from qrnn_tfq.circuits import json_resolvers
from qrnn_tfq.export.compile import strip_tags


def _check_circuit(circuit: Any) -> cirq.AbstractCircuit:
    if not isinstance(circuit, cirq.AbstractCircuit):
        raise TypeError(f"`circuit` must be a cirq.Circuit, got {type(circuit).__name__}.")
    return circuit


def json_text(circuit: cirq.AbstractCircuit) -> str:
    """Cirq JSON of `circuit` (its `PostselectTag`s included; read it back with `read_json`)."""
    circuit = _check_circuit(circuit)
    return cirq.to_json(circuit)


def write_json(path: str | os.PathLike, circuit: cirq.AbstractCircuit) -> str:
    """Writes `circuit` as Cirq JSON (see the module docstring)."""
    return atomic_write(path, json_text(circuit))


def read_json(path: str | os.PathLike) -> Any:
    """Reads a Cirq JSON file written by `write_json`."""
    with open(path, encoding="utf-8") as file:
        text = file.read()
    resolvers = json_resolvers()
    return cirq.read_json(json_text=text, resolvers=resolvers)


def write_qasm(path: str | os.PathLike, circuit: cirq.AbstractCircuit) -> str:
    """Writes `circuit` as OpenQASM 2 (`cirq.qasm`)."""
    return atomic_write(path, cirq.qasm(strip_tags(_check_circuit(circuit))))


def read_qasm(path: str | os.PathLike) -> cirq.Circuit:
    """Reads an OpenQASM 2 file (`cirq.contrib.qasm_import`, which needs the `ply` package)."""
    from cirq.contrib.qasm_import import circuit_from_qasm  # pylint: disable=import-outside-toplevel

    with open(path, encoding="utf-8") as file:
        return circuit_from_qasm(file.read())


def proto_bytes(circuit: cirq.AbstractCircuit) -> bytes:
    """The serialized `cirq_google.api.v2.Program` of `circuit` (tags left out)."""
    return cirq_google.CIRCUIT_SERIALIZER.serialize(strip_tags(_check_circuit(circuit))).SerializeToString()


def write_proto(path: str | os.PathLike, circuit: cirq.AbstractCircuit) -> str:
    """Writes `circuit` as a serialized cirq_google program proto."""
    return atomic_write(path, proto_bytes(circuit))


def read_proto(path: str | os.PathLike) -> cirq.Circuit:
    """Reads a program proto written by `write_proto`."""
    program = v2.program_pb2.Program()
    with open(path, "rb") as file:
        program.ParseFromString(file.read())
    return cirq_google.CIRCUIT_SERIALIZER.deserialize(program)


def write_circuit_files(folder: str | os.PathLike, name: str, circuit: cirq.AbstractCircuit) -> dict[str, str]:
    """Writes `name.json`, `name.qasm` and `name.pb` into `folder`; returns kind -> path."""
    folder = os.fspath(folder)
    return {
        "json": write_json(os.path.join(folder, f"{name}.json"), circuit),
        "qasm": write_qasm(os.path.join(folder, f"{name}.qasm"), circuit),
        "proto": write_proto(os.path.join(folder, f"{name}.pb"), circuit),
    }
