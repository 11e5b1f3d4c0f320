"""A learning rate with a run-time scale, for rolling back a diverging run.

`ScaledSchedule(base)` is `base` (a number or a tf-keras `LearningRateSchedule`) times a
non-trainable variable `scale` (1 at first). The `Rollback` callback multiplies `scale` when it rolls
a collapsed run back to its best weights (`TrainerConfig.rollback_factor`); the schedule
keeps running on the optimizer's step counter, so a cosine decay goes on as before, only
lower.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf


class ScaledSchedule(tf.keras.optimizers.schedules.LearningRateSchedule):
    """`base(step) * scale`, with `scale` a variable the trainer may lower during a run.

    Args:
        base: a learning rate (a number > 0) or a `LearningRateSchedule`.
        scale: the starting scale (1.0).

    Raises:
        ValueError: a learning rate or scale that is not a finite number > 0.
    """

    def __init__(self, base: float | tf.keras.optimizers.schedules.LearningRateSchedule, scale: float = 1.0) -> None:
        if not isinstance(base, tf.keras.optimizers.schedules.LearningRateSchedule):
            if isinstance(base, bool) or not isinstance(base, (int, float)) or not 0 < base < float("inf"):
                raise ValueError(f"`base` must be a learning rate > 0 or a LearningRateSchedule, got {base!r}.")
        if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not 0 < scale < float("inf"):
            raise ValueError(f"`scale` must be a finite number > 0, got {scale!r}.")
        self.base = base
        self.scale = tf.Variable(float(scale), trainable=False, dtype=tf.float32, name="learning_rate_scale")

    def __call__(self, step: Any) -> tf.Tensor:
        base = self.base(step) if callable(self.base) else tf.constant(self.base, tf.float32)
        return tf.cast(base, tf.float32) * self.scale

    def get_config(self) -> dict[str, Any]:
        base = self.base
        if isinstance(base, tf.keras.optimizers.schedules.LearningRateSchedule):
            base = tf.keras.optimizers.schedules.serialize(base)
        return {"base": base, "scale": float(self.scale.numpy())}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "ScaledSchedule":
        base = config["base"]
        if isinstance(base, dict):
            base = tf.keras.optimizers.schedules.deserialize(base)
        return cls(base, config.get("scale", 1.0))
