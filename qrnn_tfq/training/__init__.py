"""Training of QRNNs (and classical baselines) on sequence tasks (SPEC section 4), through Keras.

    model = SequenceTaskModel(qrnn_tfq.QRNN(workspace_lanes=4, io_lanes=2, stages=1, degree=3, seed=0))
    model.compile(optimizer=make_optimizer("adam", 0.005))
    model.fit(dataset_of_batch_dicts, validation_data=..., epochs=...)  # x = {"inputs", "targets", "scored"}

or, with the paper's protocol (validation every 10 steps, stop loss, early stopping,
rollback, atomic checkpoints with exact resume, optionally under `tf.distribute`):

    trainer = Trainer(QRNNSequenceModel(layer), make_optimizer("adam", 0.005),
                      lambda step: task.sample(8, seed=(0, 0, step)), task.sample(16, seed=(0, 1)),
                      TrainerConfig(max_steps=3000, stop_loss=1e-3), checkpoint_dir="runs/x")
    result = trainer.fit()  # runs model.fit with the callbacks; result.steps_to_target, result.history, ...

Modules: `task_model` (`SequenceTaskModel`: the Keras model whose `train_step`/`test_step`
know the batch contract), `callbacks` (record, early stopping, rollback, checkpoints),
`loop` (the `Trainer` that runs `fit` with them), `distribute` (strategies by name),
`optimizers` (the paper's optimizers with gradient clipping), `models` (the
`SequenceModel` protocol and the QRNN's adapter), `records` (settings, history rows,
results), `lbfgs` (full-batch L-BFGS steps), `minibatch_lbfgs` (the paper's fixed-step
L-BFGS, batch by batch), `schedules` (a learning rate a rollback can lower),
`checkpoint` (atomic `.npz` checkpoints), `classify` (class predictions from the label
steps: the exact joint label distribution, sampling). Library code: diagnostics go to
`logging`; progress bars, printing and plots live in `train/`.
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
from qrnn_tfq.training.loop import BEST_CHECKPOINT as BEST_CHECKPOINT
from qrnn_tfq.training.loop import LATEST_CHECKPOINT as LATEST_CHECKPOINT
from qrnn_tfq.training.lbfgs import Lbfgs as Lbfgs
from qrnn_tfq.training.lbfgs import LbfgsTrainer as LbfgsTrainer
from qrnn_tfq.training.loop import Trainer as Trainer
from qrnn_tfq.training.task_model import SequenceTaskModel as SequenceTaskModel
from qrnn_tfq.training import callbacks as callbacks
from qrnn_tfq.training import distribute as distribute
from qrnn_tfq.training.minibatch_lbfgs import MinibatchLbfgs as MinibatchLbfgs
from qrnn_tfq.training.minibatch_lbfgs import MinibatchLbfgsTrainer as MinibatchLbfgsTrainer
from qrnn_tfq.training.models import MeasuringSequenceModel as MeasuringSequenceModel
from qrnn_tfq.training.models import QRNNSequenceModel as QRNNSequenceModel
from qrnn_tfq.training.models import SequenceModel as SequenceModel
from qrnn_tfq.training.optimizers import OPTIMIZERS as OPTIMIZERS
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
    "Checkpoint",
    "HISTORY_FIELDS",
    "LATEST_CHECKPOINT",
    "Lbfgs",
    "LbfgsTrainer",
    "MeasuringSequenceModel",
    "MinibatchLbfgs",
    "MinibatchLbfgsTrainer",
    "OPTIMIZERS",
    "QRNNSequenceModel",
    "ScaledSchedule",
    "SequenceModel",
    "SequenceTaskModel",
    "StepRecord",
    "Trainer",
    "TrainerConfig",
    "TrainingResult",
    "VALIDATIONS",
    "atomic_write_text",
    "callbacks",
    "distribute",
    "atomic_writer",
    "codes_of_words",
    "history_columns",
    "label_code_distribution",
    "label_steps",
    "load_checkpoint",
    "make_optimizer",
    "sampled_label_codes",
    "save_checkpoint",
]
