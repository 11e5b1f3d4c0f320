"""What every study's plot shares: median steps to the target with quartile bars, and the
runs that never reached it drawn at their step budget."""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

LEGEND_NOTE = "bars: quartiles; x: a run that did not reach the loss, drawn at its step budget"


def steps(row: dict[str, str]) -> float:
    return math.inf if row["steps_to_target"] in ("", "None") else float(row["steps_to_target"])


def budget_of(row: dict[str, str]) -> float:
    """The run's step budget (`--max-steps` of its command): where a failed run is drawn,
    also one stopped early by a non-finite loss."""
    words = row["command"].split()
    return float(words[words.index("--max-steps") + 1])


def median_line(axis: Any, xs: Sequence[float], groups: Sequence[list[dict[str, str]]], label: str | None) -> None:
    """Median steps per x with quartile bars (failed runs counted at their budget); runs
    that never converged count as infinite in the median and are drawn as x at their budget."""
    medians, low, high = [], [], []
    for group in groups:
        counts = np.array([steps(r) for r in group])
        capped = np.array([budget_of(r) if math.isinf(s) else s for r, s in zip(group, counts)])
        medians.append(np.median(capped) if np.median(counts) < math.inf else np.nan)
        low.append(np.percentile(capped, 25))
        high.append(np.percentile(capped, 75))
    medians, low, high = map(np.array, (medians, low, high))
    line = axis.errorbar(xs, medians, yerr=np.vstack([np.nan_to_num(medians - low), np.nan_to_num(high - medians)]),
                         fmt="o-", capsize=3, label=label)
    for x, group in zip(xs, groups):
        failed = [budget_of(r) for r in group if math.isinf(steps(r))]
        if failed:
            axis.plot([x] * len(failed), failed, "x", color=line[0].get_color())
