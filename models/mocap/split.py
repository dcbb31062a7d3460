"""Train/validation split of mocap clips by whole clips, seeded, stratified by archive, deterministic."""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Mapping

import numpy as np

__all__ = ["split_train_val"]


def split_train_val(clips: Iterable[tuple[str, str]], val_fraction: float = 0.1, seed: int = 0,
                    groups: Mapping[tuple[str, str], str] | None = None) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Split clips into train and validation sets, whole clips only.

    Per archive, the clips are sorted, shuffled with a generator seeded by ``(seed, crc32(archive))`` and
    the first ``round(val_fraction * n)`` (at least 1 when n >= 2 and val_fraction > 0) go to validation.
    The result does not depend on the input order. Clips with the same ``groups`` value (e.g. one CMU
    trial present in two archives, 05_20) always land on the same side: the side chosen where the group
    is first met, archives in sorted order.

    Args:
        clips: (archive, clip_path) pairs.
        val_fraction: in [0, 1).
        seed: any int.
        groups: optional (archive, clip_path) -> group id.

    Returns:
        (train, val): sorted lists of (archive, clip_path).

    Raises:
        ValueError: val_fraction outside [0, 1) or duplicate clips.
    """
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"split_train_val: val_fraction must be in [0, 1), got {val_fraction}")
    clips = list(clips)
    if len(set(clips)) != len(clips):
        raise ValueError("split_train_val: duplicate (archive, clip) pairs")
    by_archive: dict[str, list[str]] = {}
    for a, c in clips:
        by_archive.setdefault(a, []).append(c)
    side_of_group: dict[str, bool] = {}
    train, val = [], []
    for a in sorted(by_archive):
        items = sorted(by_archive[a])
        rng = np.random.default_rng([seed & 0xFFFFFFFF, zlib.crc32(a.encode("utf-8"))])
        order = rng.permutation(len(items))
        n_val = round(val_fraction * len(items))
        if val_fraction > 0 and len(items) >= 2:
            n_val = max(n_val, 1)
        chosen = {items[i] for i in order[:n_val]}
        for c in items:
            is_val = c in chosen
            g = groups.get((a, c)) if groups else None
            if g is not None:
                is_val = side_of_group.setdefault(g, is_val)
            (val if is_val else train).append((a, c))
    return sorted(train), sorted(val)
