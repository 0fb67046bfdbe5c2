"""Training checkpoints: torch state written atomically every N steps, read with ``weights_only=True``.

A checkpoint is a flat dict of tensors and plain Python values (numbers, strings, lists,
dicts), so :func:`torch.load` can read it with ``weights_only=True`` (no pickle of code).
"""

from __future__ import annotations

from pathlib import Path

import torch

from ..validation import check_int
from .atomic import atomic_path


class Checkpointer:
    """Save a training state every ``every`` steps to ``path``; load the last one to resume.

    ``path=None`` disables checkpointing (every call is then a no-op).
    """

    def __init__(self, path=None, every: int = 100):
        self.path = Path(path) if path is not None else None
        self.every = check_int("checkpoint_every", every)

    def due(self, step: int) -> bool:
        return self.path is not None and step > 0 and step % self.every == 0

    def save(self, state: dict) -> None:
        if self.path is None:
            return
        with atomic_path(self.path) as tmp:
            torch.save(state, tmp)

    def load(self) -> dict | None:
        """The last saved state, or None when there is none."""
        if self.path is None or not self.path.exists():
            return None
        return torch.load(self.path, map_location="cpu", weights_only=True)
