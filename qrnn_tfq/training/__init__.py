"""Training of QRNNs (and classical baselines) on sequence tasks (SPEC section 4), through Keras.

    model = SequenceTaskModel(qrnn_tfq.QRNN(workspace_lanes=4, io_lanes=2, stages=1, degree=3, seed=0))
    model.compile(optimizer=make_optimizer("adam", 0.005))  # or Lbfgs(), MinibatchLbfgs()
    model.fit(dataset_of_batch_dicts, validation_data=..., epochs=...)  # x = {"inputs", "targets", "scored"}

The paper's protocol (validation every 10 steps, stop loss, early stopping, rollback,
atomic checkpoints with exact resume, optionally under `tf.distribute`) is the same `fit`
with one step per epoch and the run's callbacks:

    config = TrainerConfig(max_steps=3000, stop_loss=1e-3)
    record = RunRecord(config)
    model.fit(**fit_arguments(config, model, lambda step: task.sample(8, seed=(0, 0, step)), task.sample(16, seed=(0, 1))),
              callbacks=run_callbacks(record, folder="runs/x"))  # resume="runs/x/latest.npz" continues a run
    result = record.result()  # result.steps_to_target, result.history, ...

Modules: `task_model` (`SequenceTaskModel`: the Keras model whose `train_step`/`test_step`
know the batch contract; it takes a tf-keras optimizer or a `BatchOptimizer`), `callbacks`
(record, early stopping, rollback, progress, `run_callbacks`), `run_files` (checkpoints
and resume as callbacks), `fit_data` (the per-step batches and the validation batch,
split over replicas), `distribute` (strategies by name), `optimizers` (the paper's
optimizers with gradient clipping; the `BatchOptimizer` protocol), `models` (the
`SequenceModel` protocol and the QRNN's adapter), `records` (settings, history rows,
results), `lbfgs` (full-batch L-BFGS), `minibatch_lbfgs` (the paper's fixed-step L-BFGS,
batch by batch), `schedules` (a learning rate a rollback can lower), `checkpoint` (atomic
`.npz` checkpoints), `classify` (class predictions from the label steps: the exact joint
label distribution, sampling). Library code: diagnostics go to `logging`; progress bars,
printing and plots live in `train/`.
"""

from qrnn_tfq.training.checkpoint import Checkpoint as Checkpoint
from qrnn_tfq.training.checkpoint import atomic_write_text as atomic_write_text
from qrnn_tfq.training.checkpoint import atomic_writer as atomic_writer
from qrnn_tfq.training.checkpoint import load_checkpoint as load_checkpoint
from qrnn_tfq.training.checkpoint import save_checkpoint as save_checkpoint
from qrnn_tfq.training.classify import codes_of_words as codes_of_words
from qrnn_tfq.training.classify import label_code_distribution as label_code_distribution
from qrnn_tfq.training.classify import label_steps as label_steps
from qrnn_tfq.training.classify import sampled_label_codes as sampled_label_codes
from qrnn_tfq.training.checkpoint import BEST_CHECKPOINT as BEST_CHECKPOINT
from qrnn_tfq.training.checkpoint import LATEST_CHECKPOINT as LATEST_CHECKPOINT
from qrnn_tfq.training.lbfgs import Lbfgs as Lbfgs
from qrnn_tfq.training.task_model import SequenceTaskModel as SequenceTaskModel
from qrnn_tfq.training import callbacks as callbacks
from qrnn_tfq.training import distribute as distribute
from qrnn_tfq.training.callbacks import RunRecord as RunRecord
from qrnn_tfq.training.run_files import run_callbacks as run_callbacks
from qrnn_tfq.training.fit_data import fit_arguments as fit_arguments
from qrnn_tfq.training.minibatch_lbfgs import MinibatchLbfgs as MinibatchLbfgs
from qrnn_tfq.training.models import MeasuringSequenceModel as MeasuringSequenceModel
from qrnn_tfq.training.models import QRNNSequenceModel as QRNNSequenceModel
from qrnn_tfq.training.models import SequenceModel as SequenceModel
from qrnn_tfq.training.optimizers import OPTIMIZERS as OPTIMIZERS
from qrnn_tfq.training.optimizers import BatchOptimizer as BatchOptimizer
from qrnn_tfq.training.optimizers import make_optimizer as make_optimizer
from qrnn_tfq.training.records import HISTORY_FIELDS as HISTORY_FIELDS
from qrnn_tfq.training.records import VALIDATIONS as VALIDATIONS
from qrnn_tfq.training.records import StepRecord as StepRecord
from qrnn_tfq.training.records import TrainerConfig as TrainerConfig
from qrnn_tfq.training.records import TrainingResult as TrainingResult
from qrnn_tfq.training.records import history_columns as history_columns
from qrnn_tfq.training.schedules import ScaledSchedule as ScaledSchedule

__all__ = [
    "BEST_CHECKPOINT",
    "BatchOptimizer",
    "Checkpoint",
    "HISTORY_FIELDS",
    "LATEST_CHECKPOINT",
    "Lbfgs",
    "MeasuringSequenceModel",
    "MinibatchLbfgs",
    "OPTIMIZERS",
    "QRNNSequenceModel",
    "RunRecord",
    "ScaledSchedule",
    "SequenceModel",
    "SequenceTaskModel",
    "StepRecord",
    "TrainerConfig",
    "TrainingResult",
    "VALIDATIONS",
    "atomic_write_text",
    "callbacks",
    "distribute",
    "fit_arguments",
    "atomic_writer",
    "codes_of_words",
    "history_columns",
    "label_code_distribution",
    "label_steps",
    "load_checkpoint",
    "make_optimizer",
    "run_callbacks",
    "sampled_label_codes",
    "save_checkpoint",
]
