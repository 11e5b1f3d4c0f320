"""The typed run configuration of the training programs, and the one way back from a run folder.

A program's parser builds one frozen value (`ElmanRun`, `DnaRun` or `MnistRun`, all a
`RunConfig`), validated in `__post_init__` as `qrnn_tfq.QRNNConfig` is; the attribute
names are the command line's option names (`--workspace-lanes` -> `workspace_lanes`).
`to_dict()` is the part that determines what a run computes, which a run folder stores
(its checkpoints' `config["run"]`, its summary's `config`) and `--resume` compares;
`RunConfig.from_dict` reads such a stored config back (older names read as today's, in
`qrnn_tfq.export.load.upgrade_run_settings`, the one place), and `rebuild` turns a run
folder back into its configuration, its data and its trained weights: what export, the
studies and the programs (`run_data`, `RunConfig.build_model`) share.
"""

from __future__ import annotations

import dataclasses
import math
import os
from typing import Any, ClassVar, Mapping

import numpy as np

import qrnn_tfq
from data.sequences import TaskSpec, task_by_name
from qrnn_tfq.baselines import BASELINE_KINDS, RecurrentBaseline
from qrnn_tfq.config import RECURRENCES
from qrnn_tfq.layers.engines import engine_names
from qrnn_tfq.export.load import find_checkpoint, run_qrnn_config, upgrade_run_settings
from qrnn_tfq.losses import LOSSES
from qrnn_tfq.training import OPTIMIZERS, VALIDATIONS, QRNNSequenceModel, load_checkpoint
from qrnn_tfq.training.distribute import STRATEGIES
from train.core.mnist_data import CODES_FILE, MnistData, load_data

RESUME_SOURCES = ("latest", "best")
ENGINES = tuple(engine_names())
MODELS = ("qrnn", *BASELINE_KINDS)
LBFGS_OPTIMIZERS = ("lbfgs", "lbfgs-minibatch")  # train.mnist's; they run on one replica
TOPOLOGY_FIELDS = tuple(field.name for field in dataclasses.fields(qrnn_tfq.QRNNConfig))  # QRNNConfig's


def option(default: Any) -> Any:
    """A setting that does not change what a run computes (a resumed run may change it): not
    part of what its folder stores (`RunConfig.to_dict`)."""
    return dataclasses.field(default=default, metadata={"stored": False})


def _check_int(config: Any, name: str, low: int, optional: bool = False) -> None:
    value = getattr(config, name)
    if optional and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"`{name}` must be an integer >= {low}, got {value!r}.")


def _check_choice(config: Any, name: str, choices: tuple[Any, ...]) -> None:
    value = getattr(config, name)
    if value not in choices:
        raise ValueError(f"`{name}` must be one of {list(choices)}, got {value!r}.")


@dataclasses.dataclass(frozen=True, kw_only=True)
class RunConfig:
    """The settings of one run of a training program (see the module docstring).

    Model (SPEC section 3): `workspace_lanes` .. `noise`; training: `optimizer` ..
    `max_steps` (`lr_decay_steps`, `rollback`, `patience` None: off; `stop_loss` None:
    never stop early); the run: `seed` .. `verbose`. The fields made by `option` do not
    change what a run computes: a folder does not store them, and a configuration read
    back from one (`from_dict`) has their defaults.
    """

    PROGRAM: ClassVar[str] = ""
    OPTIMIZERS: ClassVar[tuple[str, ...]] = OPTIMIZERS

    workspace_lanes: int
    stages: int
    degree: int
    order: int
    bias: float = math.pi / 2
    theta_stddev: float = 0.1
    phi_stddev: float = 0.01
    work_stddev: float = 0.01
    amplification: int | None = None
    recurrence: str | None = None
    engine: str | None = None
    shots: int | None = None
    noise: float | None = None

    optimizer: str
    lr: float | None
    lr_decay_steps: int | None = None
    rollback: float | None = None
    clip_norm: float | None = 0.5
    batch: int
    val_batch: int
    loss: str
    validation: str = "teacher"
    validate_every: int
    patience: int | None = option(None)
    stop_loss: float | None = option(None)
    target_loss: float | None = option(None)
    max_steps: int = option(0)

    seed: int = option(0)
    out: str | None = option(None)
    resume: bool = option(False)
    resume_from: str | None = option(None)
    overwrite: bool = option(False)
    distribute: str = option("none")
    tensorboard: str | None = option(None)
    progress: bool = option(True)
    verbose: bool = option(False)

    def __post_init__(self) -> None:
        for name, low in (("workspace_lanes", 1), ("stages", 0), ("degree", 1), ("order", 0), ("batch", 1),
                          ("val_batch", 1), ("validate_every", 1), ("max_steps", 0), ("seed", 0)):
            _check_int(self, name, low)
        for name in ("amplification", "shots", "lr_decay_steps", "patience"):
            _check_int(self, name, 0, optional=True)
        _check_choice(self, "optimizer", self.OPTIMIZERS)
        _check_choice(self, "loss", tuple(sorted(LOSSES)))
        _check_choice(self, "validation", VALIDATIONS)
        _check_choice(self, "engine", (None, *ENGINES))
        _check_choice(self, "recurrence", (None, *RECURRENCES))
        _check_choice(self, "distribute", STRATEGIES)
        _check_choice(self, "resume_from", (None, *RESUME_SOURCES))
        if self.lr is not None and not (math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"`lr` must be a finite number > 0 (or None for L-BFGS), got {self.lr!r}.")
        if self.resume and self.overwrite:
            raise ValueError("`overwrite` starts afresh; it cannot be combined with `resume`.")

    # ---- what a run folder stores ------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The settings that determine what the run computes, as a run folder stores them."""
        stored = {field.name: getattr(self, field.name) for field in sorted(dataclasses.fields(self), key=lambda f: f.name)
                  if field.metadata.get("stored", True)}
        return {**stored, "program": self.PROGRAM}

    @classmethod
    def from_dict(cls, stored: Mapping[str, Any], **options: Any) -> "RunConfig":
        """The configuration of a run folder's stored settings (older names read as today's),
        of the class its `program` names (or `cls`); `options` set what folders do not store
        (e.g. `test_size`). Stored keys that are not settings (`program`, `model_seed`) are dropped.

        Raises:
            ValueError: settings of another program than `cls`'s, or of no known program.
        """
        settings = upgrade_run_settings(stored)
        program = settings.get("program", cls.PROGRAM)
        kind = next((k for k in PROGRAMS if k.PROGRAM == program), None)
        if kind is None or (cls.PROGRAM and kind is not cls):
            raise ValueError(f"run settings of program {program!r}; expected {cls.PROGRAM or [k.PROGRAM for k in PROGRAMS]}.")
        names = {field.name for field in dataclasses.fields(kind)}
        values = {key: value for key, value in kind._settings_of(settings).items() if key in names}
        return kind(**{**values, **options})

    @classmethod
    def _settings_of(cls, stored: dict[str, Any]) -> dict[str, Any]:
        return stored

    # ---- the model ---------------------------------------------------------------------

    @property
    def model_kind(self) -> str:
        """"qrnn", or the classical baseline (`--model`) of a sequence run."""
        return "qrnn"

    def qrnn_config(self, io_lanes: int) -> qrnn_tfq.QRNNConfig:
        """The run's QRNN topology (`qrnn_tfq.export.load.run_qrnn_config`: the one rebuild)."""
        return run_qrnn_config(self.to_dict(), io_lanes)

    def qrnn_layer(self, io_lanes: int, **options: Any) -> qrnn_tfq.QRNN:
        """The run's `QRNN` layer; `options` (layer options, or topology fields such as
        `amplification`) override the run's (studies evaluate trained weights so)."""
        config = dataclasses.replace(self.qrnn_config(io_lanes),
                                     **{k: options.pop(k) for k in list(options) if k in TOPOLOGY_FIELDS})
        layer_options = dict(
            theta_stddev=self.theta_stddev, phi_stddev=self.phi_stddev, work_stddev=self.work_stddev,
            engine=self.engine or "auto", shots=self.shots, noise=self.noise or 0.0,
        )
        return qrnn_tfq.QRNN(config, **{**layer_options, **options})

    def build_model(self, io_lanes: int, seed: int) -> QRNNSequenceModel | RecurrentBaseline:
        """The model the run trains: its QRNN (sampled measurements, seeded by `seed`) or its
        classical baseline; a topology the layer refuses exits with its message."""
        if self.model_kind != "qrnn":
            return RecurrentBaseline(self.model_kind, io_lanes, getattr(self, "hidden", None),
                                     getattr(self, "encoding", "one_hot"), seed)
        try:
            layer = self.qrnn_layer(io_lanes, measurement="sample", seed=seed)
        except (TypeError, ValueError) as error:  # a topology the layer refuses, e.g. --amplification with --order 0
            raise SystemExit(f"error: {error}") from error
        return QRNNSequenceModel(layer)



@dataclasses.dataclass(frozen=True, kw_only=True)
class SequenceRun(RunConfig):
    """A run of a sequence task (`train.elman`, `train.dna`): the QRNN or a classical baseline, `seeds` seeds."""

    model: str = "qrnn"
    hidden: int | None = None
    encoding: str = "one_hot"
    seeds: int = option(1)

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_choice(self, "model", MODELS)
        _check_int(self, "hidden", 1, optional=True)
        _check_int(self, "seeds", 1)

    @property
    def model_kind(self) -> str:
        return self.model

    def task_spec(self) -> TaskSpec:
        """The task the run trains on.

        Raises:
            ValueError: a length the task refuses.
        """
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "task": dataclasses.asdict(self.task_spec())}


@dataclasses.dataclass(frozen=True, kw_only=True)
class ElmanRun(SequenceRun):
    """`python -m train.elman`: `task` one of memorize, xor, letters; `length` None: the task's."""

    PROGRAM: ClassVar[str] = "train.elman"

    task: str
    length: int | None = None

    def task_spec(self) -> TaskSpec:
        return task_by_name(self.task, **({} if self.length is None else {"length": self.length}))

    @classmethod
    def _settings_of(cls, stored: dict[str, Any]) -> dict[str, Any]:
        task = stored.get("task")
        return {**stored, "task": task["name"]} if isinstance(task, Mapping) else stored


@dataclasses.dataclass(frozen=True, kw_only=True)
class DnaRun(SequenceRun):
    """`python -m train.dna`: the DNA task of `length` words and `protocol`."""

    PROGRAM: ClassVar[str] = "train.dna"

    length: int
    protocol: str = "paper"

    def task_spec(self) -> TaskSpec:
        return task_by_name("dna", length=self.length, protocol=self.protocol)


@dataclasses.dataclass(frozen=True, kw_only=True)
class MnistRun(RunConfig):
    """`python -m train.mnist`: the data (`digits` .. `test_size`), the L-BFGS options (None:
    not used by the optimizer), the recipe's start (`warm_start` steps of minibatch L-BFGS at
    `warm_start_lr` before the optimizer, whose learning rate then rises over `lr_warmup`
    steps; None: off), the ensemble (`ensemble` members, `replace_above`) and `quick`."""

    PROGRAM: ClassVar[str] = "train.mnist"
    OPTIMIZERS: ClassVar[tuple[str, ...]] = (*OPTIMIZERS, *LBFGS_OPTIMIZERS)

    digits: tuple[int, ...] = (0, 1)
    data: str | None = None
    augment: str = "none"
    coordinates: int = 2
    bits: int = 6
    supervised: bool = False
    augment_input: str = "raw"
    train_per_digit: int | None = None
    test_size: int | None = option(None)
    lbfgs_memory: int | None = None
    lbfgs_iterations: int | None = None
    lbfgs_line_search: bool | None = None
    lbfgs_keep_best: bool | None = None
    init_from: str | None = None
    warm_start: int | None = None
    warm_start_lr: float | None = None
    lr_warmup: int | None = None
    ensemble: int = option(1)
    replace_above: float | None = option(None)
    quick: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "digits", tuple(int(d) for d in self.digits))
        super().__post_init__()
        _check_int(self, "ensemble", 1)
        for name in ("train_per_digit", "test_size", "lbfgs_memory", "lbfgs_iterations", "warm_start", "lr_warmup"):
            _check_int(self, name, 1, optional=True)
        if self.warm_start_lr is not None and not (math.isfinite(self.warm_start_lr) and self.warm_start_lr > 0):
            raise ValueError(f"`warm_start_lr` must be a finite number > 0, got {self.warm_start_lr!r}.")
        if self.lr_warmup is not None and self.lr_decay_steps is None:
            raise ValueError(f"`lr_warmup` ({self.lr_warmup}) rises to the cosine schedule: it needs `lr_decay_steps`.")

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "digits": list(self.digits)}


PROGRAMS: tuple[type[RunConfig], ...] = (ElmanRun, DnaRun, MnistRun)


# ---- data and the way back from a run folder ---------------------------------------------


def run_data(run: RunConfig, folder: str, write: bool = True) -> TaskSpec | MnistData:
    """The run's data: a sequence run's task, or MNIST's splits (augmented codes cached in
    `folder` unless `write` is False; a missing or corrupt data file exits with a message)."""
    if isinstance(run, SequenceRun):
        return run.task_spec()
    return load_data(run, folder, write)


def io_lanes_of(data: TaskSpec | MnistData) -> int:
    return data.io_width if isinstance(data, TaskSpec) else data.io_lanes


@dataclasses.dataclass(frozen=True, eq=False)
class Rebuilt:
    """A trained run read back: its configuration, data and weights (`rebuild`)."""

    run: RunConfig
    data: TaskSpec | MnistData
    weights: list[np.ndarray]
    checkpoint: str
    seed: int | None  # the trainer's seed (data streams are seeded from it)
    step: int

    @property
    def io_lanes(self) -> int:
        return io_lanes_of(self.data)

    def qrnn_layer(self, **options: Any) -> qrnn_tfq.QRNN:
        """The run's QRNN with the trained weights; `options` as `RunConfig.qrnn_layer`'s."""
        layer = self.run.qrnn_layer(self.io_lanes, **options)
        layer.build(None)
        for variable, value in zip(layer.weights, self.weights, strict=True):
            variable.assign(value)
        return layer


def rebuild(path: str, **options: Any) -> Rebuilt:
    """A run folder (its best.npz, else latest.npz) or checkpoint read back: the stored
    settings as a `RunConfig` (`options` set what folders do not store, e.g. `test_size`),
    the run's data (MNIST: the augmented codes of the run, or of its ensemble beside the
    member folders) and its trained weights.

    Raises:
        SystemExit: no checkpoint, an unreadable one, or settings of no known program.
    """
    try:
        checkpoint = find_checkpoint(path)
        saved = load_checkpoint(checkpoint)
        run = RunConfig.from_dict(saved.config.get("run", {}), **options)
    except (FileNotFoundError, ValueError, TypeError) as error:
        raise SystemExit(f"error: cannot read the run {path!r}: {error}") from error
    folder = os.path.dirname(os.path.abspath(checkpoint))
    if not os.path.exists(os.path.join(folder, CODES_FILE)) and os.path.exists(os.path.join(folder, "..", CODES_FILE)):
        folder = os.path.dirname(folder)  # an ensemble member: the codes sit beside the members
    seed = saved.config.get("trainer", {}).get("seed")
    return Rebuilt(run, run_data(run, folder), [np.asarray(w) for w in saved.model_weights], checkpoint,
                   None if seed is None else int(seed), saved.step)
