"""effcode's command line steered for the kill tests: ``python steered_effcode.py FOLDER MODE ARGS...``.

In MODE ``run`` it counts the training steps this process makes, printed last on stderr as
``trained steps: N`` (points run in this process: ``--n-jobs 1``).  ``hold-training``
holds the process just after its first training checkpoint is saved, and ``hold-scoring`` at the
first sweep point's scoring, each after writing ``FOLDER/held`` (atomically), until a test's signal
ends it.  The replaced functions are the same code in every mode, so the cache keys of the steps
and points computed here (which cover them) are too.
"""

import atexit
import os
import pathlib
import sys
import threading

import effcode.v1
from effcode.cli import main
from effcode.learners.training import IterativeLearner
from effcode.storage.checkpoint import Checkpointer

folder, mode = pathlib.Path(sys.argv[1]), sys.argv[2]
steps = []
after_step, save, score_population = IterativeLearner._after_step, Checkpointer.save, effcode.v1.score_population


def hold(moment: str) -> None:
    """At ``moment`` of a run in mode ``hold-<moment>``: write FOLDER/held and wait for a signal."""
    if mode == f"hold-{moment}":
        (folder / ".held").write_text(moment)
        os.replace(folder / ".held", folder / "held")
        threading.Event().wait()   # never returns: only the test's signal ends it


def counted(self, step):
    steps.append(step)
    after_step(self, step)


def saved(self, state):
    save(self, state)
    hold("training")


def scoring(*args, **kwargs):
    hold("scoring")
    return score_population(*args, **kwargs)


IterativeLearner._after_step, Checkpointer.save, effcode.v1.score_population = counted, saved, scoring
if mode == "run":
    atexit.register(lambda: print(f"trained steps: {len(steps)}", file=sys.stderr))
sys.exit(main(sys.argv[3:]))
