"""Tests for data/sequences.py: the data contract and the sequence tasks of SPEC section 5."""

from __future__ import annotations

import numpy as np
import pytest

from data import sequences
from data.sequences import (
    SequenceBatch,
    TaskSpec,
    bits_to_words,
    dna_task,
    elman_letters_task,
    elman_xor_task,
    make_batch,
    memorize_task,
    task_by_name,
    words_to_bits,
)

# name -> a small call of each task, for the tests every task must pass.
TASKS = {
    "memorize": lambda batch_size, seed: memorize_task(batch_size, length=9, seed=seed),
    "xor": lambda batch_size, seed: elman_xor_task(batch_size, length=12, seed=seed),
    "letters": lambda batch_size, seed: elman_letters_task(batch_size, length=15, seed=seed),
    "dna_paper": lambda batch_size, seed: dna_task(batch_size, length=16, protocol="paper", seed=seed),
    "dna_honest": lambda batch_size, seed: dna_task(batch_size, length=16, protocol="honest", seed=seed),
}


def _words(batch: SequenceBatch) -> tuple[np.ndarray, np.ndarray]:
    return bits_to_words(batch.inputs), bits_to_words(batch.targets)


# --- bits and words -----------------------------------------------------------------------


def test_words_to_bits_puts_the_most_significant_bit_in_lane_0() -> None:
    bits = words_to_bits(np.array([[5, 1], [6, 0]]), 3)
    assert bits.dtype == np.uint8 and bits.shape == (2, 2, 3)
    np.testing.assert_array_equal(bits, [[[1, 0, 1], [0, 0, 1]], [[1, 1, 0], [0, 0, 0]]])
    np.testing.assert_array_equal(words_to_bits(2, 2), [1, 0])  # the XOR task's [1, 0]


@pytest.mark.parametrize("width", [1, 2, 3, 8, 20])
def test_bits_and_words_round_trip(width: int) -> None:
    words = np.random.default_rng(width).integers(2**width, size=(4, 7))
    np.testing.assert_array_equal(bits_to_words(words_to_bits(words, width)), words)
    every_word = np.arange(min(2**width, 256))
    np.testing.assert_array_equal(bits_to_words(words_to_bits(every_word, width)), every_word)


def test_bits_to_words_accepts_bools() -> None:
    assert bits_to_words(np.array([True, True, False])) == 6
    assert bits_to_words(np.array([[1], [0]], dtype=np.int32)).tolist() == [1, 0]


@pytest.mark.parametrize(
    "words, width, error, match",
    [
        ([8], 3, ValueError, r"`words` must lie in \[0, 8\) for `width` 3, got 8"),
        ([0, -1], 3, ValueError, r"got -1"),
        ([1.0], 3, TypeError, r"`words` must be an integer array, got dtype float64"),
        ([0], 0, ValueError, r"`width` must be between 1 and 62, got 0"),
        ([0], 63, ValueError, r"`width` must be between 1 and 62, got 63"),
        ([0], 3.0, TypeError, r"`width` must be an int, got 3.0"),
        ([0], True, TypeError, r"`width` must be an int, got True"),
    ],
)
def test_words_to_bits_rejects(words: list, width: object, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        words_to_bits(np.array(words), width)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "bits, error, match",
    [
        ([0, 2, 1], ValueError, r"`bits` must hold only bits 0 and 1, got 2"),
        ([0, -1], ValueError, r"got -1"),
        ([0.0, 1.0], TypeError, r"`bits` must be a bool or integer array of bits, got dtype float64"),
        (1, ValueError, r"`bits` must have a last axis of 1 to 62 lanes, got shape \(\)"),
        (np.zeros((2, 0), dtype=int), ValueError, r"got shape \(2, 0\)"),
        (np.zeros(63, dtype=int), ValueError, r"got shape \(63,\)"),
    ],
)
def test_bits_to_words_rejects(bits: object, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        bits_to_words(np.asarray(bits))


# --- make_batch and SequenceBatch -----------------------------------------------------------


def test_make_batch_applies_the_one_step_offset() -> None:
    words_in = np.array([[1, 2, 3, 0]])  # x_1..x_4
    words_target = np.array([[0, 3, 2, 1]])  # y_1..y_4
    scored_positions = np.array([[False, True, False, True]])  # y_2 and y_4 scored
    batch = make_batch(words_in, words_target, scored_positions, 2)
    assert (batch.batch_size, batch.steps, batch.io_width) == (1, 3, 2)
    np.testing.assert_array_equal(batch.inputs[0], [[0, 1], [1, 0], [1, 1]])  # x_1..x_3
    np.testing.assert_array_equal(batch.targets[0], [[1, 1], [1, 0], [0, 1]])  # y_2..y_4
    np.testing.assert_array_equal(batch.scored[0], [True, False, True])
    assert batch.inputs.dtype == np.uint8 and batch.scored.dtype == np.bool_


def test_batch_arrays_are_read_only_copies() -> None:
    words = np.array([[1, 2, 3]])
    mask = np.array([[False, True, True]])
    batch = make_batch(words, words, mask, 2)
    words[0, 0] = 0
    mask[0, 1] = False
    assert bits_to_words(batch.inputs)[0, 0] == 1 and batch.scored[0, 0]
    for array in (batch.inputs, batch.targets, batch.scored):
        with pytest.raises(ValueError, match="read-only"):
            array[0, 0] = 0


def _valid_parts(kind: str) -> dict[str, np.ndarray]:
    if kind == "make_batch":  # width 2, B = 2, L = 3
        mask = np.array([[False, True, True]] * 2)
        words = np.array([[1, 2, 3], [0, 1, 2]])
        return {"words_in": words, "words_target": np.zeros((2, 3), int), "scored_positions": mask}
    bits = np.zeros((2, 3, 1), int)
    return {"inputs": bits, "targets": bits, "scored": np.zeros((2, 3), bool)}


@pytest.mark.parametrize(
    "field, value, error, match",
    [
        ("words_target", np.zeros((2, 4), int), ValueError,
         r"`words_target` must have the shape of `words_in` \(2, 3\), got \(2, 4\)"),
        ("scored_positions", np.zeros((2, 4), bool), ValueError,
         r"`scored_positions` must have the shape of `words_in`"),
        ("words_in", np.zeros((2, 1), int), ValueError,
         r"`words_in` must have shape \(B, L\) with B >= 1 and L >= 2, got shape \(2, 1\)"),
        ("words_in", np.zeros(3, int), ValueError, r"got shape \(3,\)"),
        ("words_in", np.zeros((0, 3), int), ValueError, r"got shape \(0, 3\)"),
        ("scored_positions", np.array([[0, 1, 1]] * 2), TypeError,
         r"`scored_positions` must be a bool array, got dtype int64"),
        ("scored_positions", np.array([[False] * 3, [True] * 3]), ValueError,
         r"`scored_positions\[:, 0\]` must be False, got True in sample 1"),
        ("words_in", np.array([[1, 2, 4], [0, 1, 2]]), ValueError,
         r"`words` must lie in \[0, 4\) for `width` 2, got 4"),
        ("words_target", np.array([[0, 0, 0], [0, 5, 0]]), ValueError,
         r"`words` must lie in \[0, 4\) for `width` 2, got 5"),
    ],
)
def test_make_batch_rejects(field: str, value: np.ndarray, error: type, match: str) -> None:
    parts = {**_valid_parts("make_batch"), field: value}
    with pytest.raises(error, match=match):
        make_batch(**parts, width=2)


@pytest.mark.parametrize(
    "field, value, error, match",
    [
        ("inputs", np.zeros((2, 3, 1)), TypeError,
         r"`inputs` must be a bool or integer array of bits, got dtype float64"),
        ("inputs", np.zeros((2, 3), int), ValueError,
         r"`inputs` must have a non-empty shape \(B, T, I\), got shape \(2, 3\)"),
        ("inputs", np.zeros((2, 0, 1), int), ValueError, r"got shape \(2, 0, 1\)"),
        ("targets", np.zeros((2, 3, 2), int), ValueError,
         r"`targets` must have the shape \(2, 3, 1\) of `inputs`, got \(2, 3, 2\)"),
        ("targets", np.full((2, 3, 1), 3), ValueError, r"`targets` must hold only bits 0 and 1, got 3"),
        ("scored", np.zeros((2, 3), int), TypeError, r"`scored` must be a bool array, got dtype int64"),
        ("scored", np.zeros((3, 2), bool), ValueError,
         r"`scored` must have shape \(B, T\) = \(2, 3\), got \(3, 2\)"),
    ],
)
def test_sequence_batch_rejects(field: str, value: np.ndarray, error: type, match: str) -> None:
    parts = {**_valid_parts("batch"), field: value}
    with pytest.raises(error, match=match):
        SequenceBatch(**parts)
    SequenceBatch(**_valid_parts("batch"))  # the valid parts pass


# --- the tasks, by hand ---------------------------------------------------------------------------


def test_memorize_holds_both_fixed_sequences() -> None:
    batch = memorize_task(4, length=7, seed=3)
    inputs, targets = _words(batch)
    counting, constant = [0, 1, 2, 3, 0, 1], [4, 4, 4, 4, 4, 4]  # x_1..x_6
    assert sorted(row.tolist() for row in inputs) == [counting, counting, constant, constant]
    np.testing.assert_array_equal(targets[:, :-1], inputs[:, 1:])  # targets = inputs, shifted
    np.testing.assert_array_equal(targets[:, -1], np.where(inputs[:, 0] == 0, 2, 4))  # y_7
    assert batch.scored.all() and batch.io_width == 3
    assert memorize_task(1, seed=0).steps == 19  # default length 20


@pytest.mark.parametrize("batch_size", [1, 3, 5])
def test_memorize_splits_an_odd_batch_as_evenly_as_possible(batch_size: int) -> None:
    first_words = [bits_to_words(memorize_task(batch_size, seed=seed).inputs)[:, 0] for seed in range(20)]
    assert {int((words == 4).sum()) for words in first_words} == {batch_size // 2, batch_size // 2 + 1}


def test_xor_targets_and_scored_steps() -> None:
    batch = elman_xor_task(64, length=36, seed=7)
    inputs, targets = _words(batch)
    assert (batch.steps, batch.io_width) == (35, 2)
    assert np.all(batch.inputs[..., 0] == 0)  # every bit v is the word [0, v]
    stream = np.concatenate([inputs, np.zeros((64, 1), int)], axis=1).reshape(64, 12, 3)
    np.testing.assert_array_equal(stream[:, :-1, 2], stream[:, :-1, 0] ^ stream[:, :-1, 1])
    xor_steps = np.arange(35) % 3 == 1  # predicting y_3, y_6, ... right after reading b
    np.testing.assert_array_equal(batch.scored, np.broadcast_to(xor_steps, (64, 35)))
    np.testing.assert_array_equal(targets[:, ~xor_steps], 2)  # [1, 0]: can't know
    np.testing.assert_array_equal(targets[:, xor_steps], stream[:, :, 0] ^ stream[:, :, 1])
    assert set(np.unique(inputs[:, 0::3])) == {0, 1} and set(np.unique(inputs[:, 1::3])) == {0, 1}


LETTER_CODES = {"b": 4, "d": 5, "g": 6, "a": 0, "i": 1, "u": 2}
LETTER_TARGETS = {"b": 7, "d": 7, "g": 7, "a": 0, "i": 1, "u": 2}
SYLLABLES = {"b": "ba", "d": "dii", "g": "guuu"}


def test_letters_expand_consonants_into_syllables() -> None:
    length = 40
    batch = elman_letters_task(32, length=length, seed=5)
    inputs, targets = _words(batch)
    letter_of = {code: letter for letter, code in LETTER_CODES.items()}
    for row in range(32):
        text = "".join(letter_of[word] for word in inputs[row])  # x_1..x_{L-1}
        start = 0
        while start < len(text):  # whole syllables, the last one maybe cut
            syllable = SYLLABLES[text[start]]
            assert text[start : start + len(syllable)] == syllable[: len(text) - start]
            start += len(syllable)
        np.testing.assert_array_equal(targets[row, :-1], [LETTER_TARGETS[letter] for letter in text[1:]])
    assert set(np.unique(inputs[:, 0])) == {4, 5, 6}  # every sample starts with a consonant
    assert set(np.unique(targets[:, -1])) <= {7, 0, 1, 2}
    assert batch.scored.all() and batch.io_width == 3 and batch.steps == length - 1
    assert elman_letters_task(1, seed=0).steps == 35  # default length 36


@pytest.mark.parametrize("protocol", ["paper", "honest"])
def test_dna_marks_one_base_in_the_first_half(protocol: str) -> None:
    length, batch_size = 11, 400
    batch = dna_task(batch_size, length=length, protocol=protocol, seed=2)
    inputs, targets = _words(batch)
    marked = inputs >= 4  # x_1..x_{L-1}
    assert np.all(marked.sum(axis=1) == 1)
    mark = marked.argmax(axis=1)  # 0-based index m - 1
    assert set(mark.tolist()) == set(range(length // 2))  # positions 1..5, all reached
    marked_base = inputs[np.arange(batch_size), mark] - 4
    assert set(marked_base.tolist()) == {0, 1, 2, 3}
    np.testing.assert_array_equal(targets[:, -1], marked_base)  # y_L, predicted at step L-2
    assert np.all(batch.scored == (np.arange(length - 1) == length - 2))
    # targets[:, t] is y_{t+2}; y_i is the marked base from i = m on ("paper").
    after_mark = np.arange(2, length + 1) >= mark[:, None] + 1
    if protocol == "paper":
        np.testing.assert_array_equal(targets, np.where(after_mark, marked_base[:, None], 0))
    else:
        np.testing.assert_array_equal(targets[:, :-1], 0)


def test_dna_protocols_share_inputs_and_the_answer() -> None:
    paper = dna_task(8, length=20, protocol="paper", seed=9)
    honest = dna_task(8, length=20, protocol="honest", seed=9)
    np.testing.assert_array_equal(paper.inputs, honest.inputs)
    np.testing.assert_array_equal(paper.targets[:, -1], honest.targets[:, -1])
    np.testing.assert_array_equal(paper.scored, honest.scored)


def test_dna_shortest_sequences() -> None:
    for length in (2, 3):  # the first half is position 1 only
        inputs, targets = _words(dna_task(5, length=length, protocol="honest", seed=0))
        assert np.all(inputs[:, 0] >= 4)
        np.testing.assert_array_equal(targets[:, -1], inputs[:, 0] - 4)


# --- seed-fixed examples, checked by hand (they also pin the order of the random draws) --------------


def test_memorize_seed_fixed_example() -> None:
    batch = memorize_task(3, length=6, seed=0)
    inputs, targets = _words(batch)
    np.testing.assert_array_equal(inputs, [[4, 4, 4, 4, 4], [4, 4, 4, 4, 4], [0, 1, 2, 3, 0]])
    np.testing.assert_array_equal(targets, [[4, 4, 4, 4, 4], [4, 4, 4, 4, 4], [1, 2, 3, 0, 1]])
    assert batch.scored.all()


def test_xor_seed_fixed_example() -> None:
    batch = elman_xor_task(2, length=9, seed=1)
    inputs, targets = _words(batch)
    # Triples 011 110 00(0) and 110 000 10(1); x_9 is never read.
    np.testing.assert_array_equal(inputs, [[0, 1, 1, 1, 1, 0, 0, 0], [1, 1, 0, 0, 0, 0, 1, 0]])
    np.testing.assert_array_equal(targets, [[2, 1, 2, 2, 0, 2, 2, 0], [2, 0, 2, 2, 0, 2, 2, 1]])
    np.testing.assert_array_equal(batch.scored.astype(int), [[0, 1, 0, 0, 1, 0, 0, 1]] * 2)


def test_letters_seed_fixed_example() -> None:
    batch = elman_letters_task(2, length=12, seed=2)
    inputs, targets = _words(batch)
    # "guuubababad" + "i" and "diibadiidii"; the targets are y_2..y_12.
    np.testing.assert_array_equal(inputs[0], [6, 2, 2, 2, 4, 0, 4, 0, 4, 0, 5])
    np.testing.assert_array_equal(inputs[1], [5, 1, 1, 4, 0, 5, 1, 1, 5, 1, 1])
    np.testing.assert_array_equal(targets[0], [2, 2, 2, 7, 0, 7, 0, 7, 0, 7, 1])
    np.testing.assert_array_equal(targets[1], [1, 1, 7, 0, 7, 1, 1, 7, 1, 1, 7])
    assert batch.scored.all()


def test_dna_seed_fixed_example() -> None:
    paper = dna_task(4, length=10, protocol="paper", seed=11)
    honest = dna_task(4, length=10, protocol="honest", seed=11)
    inputs = [  # marks at positions 5, 5, 1 and 2
        [0, 0, 3, 1, 6, 2, 2, 0, 1],
        [1, 3, 2, 0, 6, 0, 3, 3, 3],
        [7, 1, 0, 2, 1, 2, 3, 1, 3],
        [1, 7, 0, 2, 1, 2, 3, 3, 3],
    ]
    np.testing.assert_array_equal(bits_to_words(paper.inputs), inputs)
    np.testing.assert_array_equal(
        bits_to_words(paper.targets),  # y_5 = 2 is predicted at t = 3, before x_5 is read
        [[0, 0, 0, 2, 2, 2, 2, 2, 2], [0, 0, 0, 2, 2, 2, 2, 2, 2], [3] * 9, [3] * 9],
    )
    np.testing.assert_array_equal(bits_to_words(honest.targets)[:, :-1], 0)
    np.testing.assert_array_equal(bits_to_words(honest.targets)[:, -1], [2, 2, 3, 3])
    np.testing.assert_array_equal(paper.scored.astype(int), [[0] * 8 + [1]] * 4)


# --- every task: seeds, shapes, validation ----------------------------------------------------------


@pytest.mark.parametrize("name", TASKS)
def test_same_seed_same_batch_and_different_seeds_differ(name: str) -> None:
    make = TASKS[name]
    first, again, other = make(6, 11), make(6, 11), make(6, 12)
    for field in ("inputs", "targets", "scored"):
        np.testing.assert_array_equal(getattr(first, field), getattr(again, field))
    assert not np.array_equal(first.inputs, other.inputs) or not np.array_equal(first.targets, other.targets)
    np.testing.assert_array_equal(make(6, (11, 0)).inputs, make(6, (11, 0)).inputs)  # tuple seeds


@pytest.mark.parametrize("name", TASKS)
def test_batches_keep_the_contract(name: str) -> None:
    batch = TASKS[name](5, 0)
    assert batch.inputs.shape == batch.targets.shape == batch.scored.shape + (batch.io_width,)
    assert batch.inputs.dtype == batch.targets.dtype == np.uint8 and batch.scored.dtype == np.bool_
    assert batch.scored.any(axis=1).all()  # every sample has something to learn


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: memorize_task(0, seed=0), ValueError, r"`batch_size` must be at least 1, got 0"),
        (lambda: elman_xor_task(2.0, seed=0), TypeError, r"`batch_size` must be an int, got 2.0"),
        (lambda: memorize_task(2, length=1, seed=0), ValueError, r"`length` must be at least 2, got 1"),
        (lambda: elman_letters_task(2, length=1, seed=0), ValueError, r"`length` must be at least 2, got 1"),
        (lambda: dna_task(2, length=1, seed=0), ValueError, r"`length` must be at least 2, got 1"),
        (lambda: dna_task(2, length=10.5, seed=0), TypeError, r"`length` must be an int, got 10.5"),
        (lambda: elman_xor_task(2, length=35, seed=0), ValueError,
         r"`length` must be a multiple of 3 for task 'xor', got 35"),
        (lambda: elman_xor_task(2, length=0, seed=0), ValueError, r"`length` must be at least 2, got 0"),
        (lambda: dna_task(2, length=10, protocol="fair", seed=0), ValueError,
         r"`protocol` must be one of \['paper', 'honest'\], got 'fair'"),
        (lambda: memorize_task(2, seed=-1), ValueError, r"`seed` must be a non-negative int .*, got -1"),
        (lambda: memorize_task(2, seed=()), ValueError, r"`seed` must be .*non-empty.*, got \(\)"),
        (lambda: elman_xor_task(2, seed=1.5), TypeError, r"`seed` must be a non-negative int .*, got 1.5"),
        (lambda: elman_xor_task(2, seed=True), TypeError, r"got True"),
        (lambda: dna_task(2, length=4, seed=(1, "a")), TypeError, r"got \(1, 'a'\)"),
    ],
)
def test_tasks_reject(call: object, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        call()  # type: ignore[operator]


# --- task_by_name -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, options, io_width, length, protocol",
    [
        ("memorize", {}, 3, 20, None),
        ("xor", {}, 2, 36, None),
        ("letters", {"length": 12}, 3, 12, None),
        ("dna", {"length": 50}, 3, 50, "paper"),
        ("dna", {"length": 50, "protocol": "honest"}, 3, 50, "honest"),
    ],
)
def test_task_by_name(name: str, options: dict, io_width: int, length: int, protocol: str | None) -> None:
    spec = task_by_name(name, **options)
    assert spec == TaskSpec(name=name, length=length, protocol=protocol)
    assert spec.io_width == io_width
    batch = spec.sample(3, seed=4)
    assert batch.io_width == io_width and batch.steps == length - 1
    assert spec.name in sequences.TASK_NAMES


def test_task_spec_samples_what_the_task_function_gives() -> None:
    direct = dna_task(4, length=30, protocol="honest", seed=8)
    via_spec = task_by_name("dna", length=30, protocol="honest").sample(4, seed=8)
    for field in ("inputs", "targets", "scored"):
        np.testing.assert_array_equal(getattr(direct, field), getattr(via_spec, field))
    xor = task_by_name("xor").sample(2, 1)
    np.testing.assert_array_equal(xor.inputs, elman_xor_task(2, seed=1).inputs)


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: task_by_name("mnist"), ValueError,
         r"`name` must be one of \['memorize', 'xor', 'letters', 'dna'\], got 'mnist'"),
        (lambda: task_by_name("dna"), ValueError, r"Task 'dna' needs the option `length`"),
        (lambda: task_by_name("xor", protocol="honest"), TypeError,
         r"Task 'xor' takes the options \['length'\], got unexpected \['protocol'\]"),
        (lambda: task_by_name("dna", length=9, width=3), TypeError, r"got unexpected \['width'\]"),
        (lambda: task_by_name("dna", length=9, protocol="cheat"), ValueError, r"`protocol` must be one of"),
        (lambda: task_by_name("xor", length=10), ValueError, r"multiple of 3 for task 'xor', got 10"),
        (lambda: TaskSpec(name="letters", length=9, protocol="paper"), ValueError,
         r"`protocol` only applies to task 'dna', got 'paper' for task 'letters'"),
        (lambda: TaskSpec(name="sorting", length=9), ValueError, r"got 'sorting'"),
    ],
)
def test_task_by_name_rejects(call: object, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        call()  # type: ignore[operator]


def test_task_names_match_the_registry() -> None:
    assert tuple(sequences._TASKS) == sequences.TASK_NAMES
    assert [task_by_name(name, length=6).io_width for name in sequences.TASK_NAMES] == [3, 2, 3, 3]
