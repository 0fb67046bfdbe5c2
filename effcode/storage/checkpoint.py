"""Training checkpoints: torch state written atomically every N steps, with a checksum.

A checkpoint is a flat dict of tensors and plain Python values (numbers, strings, lists,
dicts), read back with ``torch.load(..., weights_only=True)`` (no pickle of code).  The file
starts with a one-line header holding the sha256 of the torch bytes after it
(:mod:`effcode.storage.integrity`): a truncated, corrupt or foreign file is named in a one-line
warning and ignored, so training starts again from the beginning instead of failing.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

from ..errors import CorruptFileError
from ..validation import check_int
from .integrity import read_checked_bytes, torch_state_bytes, warn_corrupt, write_checked_bytes


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
        write_checked_bytes(self.path, torch_state_bytes(state))

    def load(self) -> dict | None:
        """The last saved state, or None when there is none or it is unusable (after a warning)."""
        if self.path is None or not self.path.exists():
            return None
        try:
            return _torch_state(self.path, read_checked_bytes(self.path))
        except CorruptFileError as error:
            warn_corrupt(error, "training starts from the beginning")
            self.path.unlink(missing_ok=True)
            return None


def _torch_state(path: Path, payload: bytes) -> dict:
    """The state saved in ``payload``; torch's own messages (which suggest ``weights_only=False``,
    unsafe for a file of unknown origin) never reach the user."""
    import torch

    try:
        with warnings.catch_warnings():   # torch's warnings about odd pickles also advise weights_only=False
            warnings.simplefilter("ignore")
            state = torch.load(io.BytesIO(payload), map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for bad bytes; all mean the same here
        raise CorruptFileError(f"checkpoint {path} holds no loadable training state ({type(exc).__name__})") from None
    if not isinstance(state, dict):
        raise CorruptFileError(f"checkpoint {path} holds a {type(state).__name__}, not a training state")
    return state
