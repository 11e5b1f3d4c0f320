"""The shared argument groups (`train.core.arguments`): per-program defaults in one builder, shown
in each program's help, the SPEC's names with the old `--workspace` kept as an alias, and
the filled arguments built from keywords as from a command line."""

from __future__ import annotations

import re

import dataclasses
import math

import pytest

from train import dna, elman, mnist
from train.core import arguments, sequence_runs
from train.core.config import DnaRun, ElmanRun, MnistRun, RunConfig


def help_text(parser):
    return re.sub(r"\s+", " ", parser.format_help())


@pytest.mark.parametrize("flag", ["--workspace", "--workspace-lanes"])
def test_workspace_is_an_alias_of_workspace_lanes(flag):
    args = sequence_runs.parse(elman.make_parser(), ["--task", "xor", flag, "3"], elman.TASK_DEFAULTS, ElmanRun)
    assert args.workspace_lanes == 3 and not hasattr(args, "workspace")
    assert sequence_runs.parse(dna.make_parser(), ["--length", "6", flag, "2"], dna.DEFAULTS, DnaRun).workspace_lanes == 2
    assert mnist.parse(mnist.make_parser(), [flag, "4"]).workspace_lanes == 4


def test_help_shows_each_programs_defaults():
    text = help_text(elman.make_parser())
    assert "--workspace-lanes W, --workspace W workspace lanes W (default: xor 4, letters 6, memorize 5)" in text
    assert "sequences per step (default: xor 8, letters 8, memorize 2)" in text
    assert "(initial) learning rate (default 0.005)" in text and "step budget (default 3000)" in text
    assert "0: never (default 0)" in text and "--seeds SEEDS" in text and "--ensemble" not in text
    text = help_text(dna.make_parser())
    assert "workspace lanes W (default 5)" in text and "(initial) learning rate (default 0.01)" in text
    text = help_text(mnist.make_parser())
    assert "workspace lanes W (default 8)" in text and "images per digit per step (default 50; --quick: 10)" in text
    assert "step budget (default 1500; --quick: 6)" in text and "'nll': -log p (default nll)" in text
    assert "stops) (default never)" in text and "0: never (default 40; --quick: 0)" in text
    for parser in (elman.make_parser(), dna.make_parser(), mnist.make_parser()):
        text = help_text(parser)
        assert "--distribute {none,mirrored,multi-worker}" in text and "--tensorboard DIR" in text


def test_every_program_builds_the_shared_options_once():
    shared = {"--workspace-lanes", "--stages", "--degree", "--order", "--optimizer", "--lr", "--lr-decay-steps",
              "--rollback", "--batch", "--val-batch", "--loss", "--validate-every", "--patience", "--stop-loss",
              "--max-steps", "--seed", "--out", "--resume", "--overwrite", "--distribute", "--tensorboard"}
    for parser in (elman.make_parser(), dna.make_parser(), mnist.make_parser()):
        flags = [flag for action in parser._actions for flag in action.option_strings]
        assert shared <= set(flags) and len(flags) == len(set(flags))


@pytest.mark.parametrize("defaults, expected", [
    (arguments.Defaults(workspace_lanes=4, stages=1, degree=3, batch=8, val_batch=16, lr=0.005), "(default 4)"),
    (elman.TASK_DEFAULTS, "(default: xor 4, letters 6, memorize 5)"),
    ({"": mnist.DEFAULTS, "--quick": mnist.QUICK}, "(default 8)"),
])
def test_default_text(defaults, expected):
    assert arguments.default_text(defaults, "workspace_lanes") == expected


def test_zero_turns_patience_decay_and_rollback_off():
    args = mnist.parse(mnist.make_parser(), ["--patience", "0", "--lr-decay-steps", "0", "--rollback", "0"])
    assert (args.patience, args.lr_decay_steps, args.rollback) == (None, None, None)
    args = sequence_runs.parse(elman.make_parser(), ["--task", "xor", "--patience", "3", "--rollback", "2"],
                               elman.TASK_DEFAULTS, ElmanRun)
    assert (args.patience, args.rollback, args.lr_decay_steps) == (3, 2.0, None)


def test_settings_fill_as_the_parser_does():
    assert elman.settings(task="letters", workspace_lanes=3, seed=2) == sequence_runs.parse(
        elman.make_parser(), ["--task", "letters", "--workspace-lanes", "3", "--seed", "2"], elman.TASK_DEFAULTS, ElmanRun)
    assert elman.command({"task": "xor", "bias": 0.1 + 0.2, "progress": False, "overwrite": False}) == (
        "python -m train.elman --task xor --bias 0.30000000000000004 --no-progress")


# ---- the typed run configuration (train.core.config) -------------------------------------


@pytest.mark.parametrize("program, kind", [(elman, ElmanRun), (dna, DnaRun), (mnist, MnistRun)])
def test_the_parser_builds_the_typed_configuration_with_the_parsers_defaults(program, kind):
    """Every option is a field of the program's configuration, and a field's default is the
    option's parser default (the configuration read back from a folder has them)."""
    parser = program.make_parser()
    options = arguments.parser_defaults(parser)
    fields = {field.name: field for field in dataclasses.fields(kind)}
    assert set(options) == set(fields)
    for name, default in options.items():
        if default is not None and not isinstance(default, bool) or name in ("resume", "overwrite"):
            assert fields[name].default == (tuple(default) if name == "digits" else default), name


def test_a_configuration_round_trips_through_the_stored_dict():
    run = sequence_runs.parse(elman.make_parser(), ["--task", "xor", "--workspace-lanes", "3", "--seed", "4"],
                              elman.TASK_DEFAULTS, ElmanRun)
    stored = run.to_dict()
    assert stored["program"] == "train.elman" and stored["task"]["name"] == "xor" and "seed" not in stored
    assert RunConfig.from_dict(stored, seed=4).to_dict() == stored
    old = {**{k: v for k, v in stored.items() if k != "workspace_lanes"}, "workspace": 3, "model_seed": 1}
    assert RunConfig.from_dict(old).to_dict() == stored  # old names read as today's, extra keys dropped
    assert RunConfig.from_dict(old, max_steps=3000, stop_loss=1e-3, seed=4) == run  # what folders do not store
    quick = mnist.parse(mnist.make_parser(), ["--quick", "--digits", "3,6"])
    assert RunConfig.from_dict(quick.to_dict(), test_size=200, train_per_digit=100).to_dict() == quick.to_dict()
    assert quick.to_dict()["digits"] == [3, 6] and quick.qrnn_config(2).num_parameters == 1212
    with pytest.raises(ValueError, match=r"run settings of program 'train.dna'; expected train.elman"):
        ElmanRun.from_dict({**stored, "program": "train.dna"})


@pytest.mark.parametrize("change, message", [
    ({"degree": 0}, r"`degree` must be an integer >= 1, got 0\."),
    ({"workspace_lanes": 2.5}, r"`workspace_lanes` must be an integer >= 1, got 2\.5\."),
    ({"optimizer": "lbfgs"}, r"`optimizer` must be one of \['adam', .*\], got 'lbfgs'\."),
    ({"loss": "mse"}, r"`loss` must be one of \['nll', 'paper'\], got 'mse'\."),
    ({"lr": math.inf}, r"`lr` must be a finite number > 0 \(or None for L-BFGS\), got inf\."),
    ({"resume": True, "overwrite": True}, r"`overwrite` starts afresh; it cannot be combined with `resume`\."),
    ({"model": "gru"}, r"`model` must be one of \['qrnn', 'rnn', 'lstm'\], got 'gru'\."),
])
def test_the_configuration_refuses_bad_values_naming_them(change, message):
    run = sequence_runs.parse(elman.make_parser(), ["--task", "xor"], elman.TASK_DEFAULTS, ElmanRun)
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(run, **change)
