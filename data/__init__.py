"""Data for the QRNN tasks of SPEC section 5, in the layer's data contract (SPEC section 4)."""

from data.sequences import PROTOCOLS as PROTOCOLS
from data.sequences import TASK_NAMES as TASK_NAMES
from data.sequences import SequenceBatch as SequenceBatch
from data.sequences import TaskSpec as TaskSpec
from data.sequences import bits_to_words as bits_to_words
from data.sequences import dna_task as dna_task
from data.sequences import elman_letters_task as elman_letters_task
from data.sequences import elman_xor_task as elman_xor_task
from data.sequences import make_batch as make_batch
from data.sequences import memorize_task as memorize_task
from data.sequences import task_by_name as task_by_name
from data.sequences import words_to_bits as words_to_bits

__all__ = [
    "PROTOCOLS",
    "TASK_NAMES",
    "SequenceBatch",
    "TaskSpec",
    "bits_to_words",
    "dna_task",
    "elman_letters_task",
    "elman_xor_task",
    "make_batch",
    "memorize_task",
    "task_by_name",
    "words_to_bits",
]
