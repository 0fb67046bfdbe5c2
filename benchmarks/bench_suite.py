"""Benchmark: the wall-clock and CPU time of every experiment of ``effcode run all``, quick and full, from
an empty cache, each beside the time of the code it is compared with.

Each mode runs as one ``python -m effcode run NN NN ... [--quick]`` in a fresh process and a new temporary
results folder, as a user runs the suite: start-up is paid once, and a step that one experiment caches is
reused by the next. Per experiment, the wall-clock is the ``experiment NN: done in X s`` line the command
prints, and the CPU seconds come from the ``run.json`` it writes (the CPU time of the process that ran
the experiment); the ``all`` row is the whole command: its wall-clock and the user plus system time of
it and its children (``resource.getrusage(RUSAGE_CHILDREN)``), which, unlike wall-clock, hardly grows
when other programs share the machine. ``--n-jobs N`` passes the option on.

What each time is compared with:

* by default, the time of the same experiment in the ``suite.csv`` this script wrote last (the commit that
  measured it is in its ``commit`` column);
* with ``--against REV``, commit REV's code measured in this same run from a ``git worktree`` (all its
  modes, then this code's), so both meet about the same load (CPU per experiment only where REV writes
  ``run.json``'s timings).

``ratio`` is the compared time over this code's (above 1: this code is faster). Writes
``results/benchmarks/suite.csv`` and ``suite.json``.

    python benchmarks/bench_suite.py --quick-only                      # CI-length: quick settings only
    python benchmarks/bench_suite.py --quick-only --against HEAD~1     # side by side with the previous commit
    python benchmarks/bench_suite.py                                   # quick and full (full: about half an hour)
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterator

from effcode.cli import declarations
from effcode.runs import read_csv, read_json
from effcode.storage.provenance import git_commit

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import FOLDER, publish  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
#: the options of each mode of ``effcode run``
MODES = {"quick": ["--quick"], "full": []}


DONE = re.compile(r"^experiment (\d\d): done in ([\d.]+) s", re.MULTILINE)


def time_suite(numbers: list[str], mode: str, results: Path, *, code: Path, n_jobs: int) -> list[dict]:
    """One row per experiment and one for ``all``: wall-clock and CPU seconds of ``effcode run NUMBERS`` in
    ``mode`` into the empty folder ``results``, with the effcode of folder ``code``."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(code), os.environ.get("PYTHONPATH")]))}
    knows_n_jobs = "--n-jobs" in (code / "effcode" / "cli.py").read_text(encoding="utf-8")
    jobs = ["--n-jobs", str(n_jobs)] if knows_n_jobs else []   # older commits have no --n-jobs (and run serially)
    command = [sys.executable, "-m", "effcode", "run", *numbers, *MODES[mode], *jobs, "--results", str(results)]
    before, started = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    out = subprocess.run(command, env=env, cwd=code, check=True, capture_output=True, text=True).stdout
    wall, after = time.perf_counter() - started, resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    record = results / "run.json"
    timings = read_json(record).get("timings", {}) if record.exists() else {}
    rows = [{"mode": mode, "experiment": number, "wall_s": float(seconds),
             "cpu_s": timings.get(number, {}).get("cpu_seconds", "")} for number, seconds in DONE.findall(out)]
    return sorted(rows, key=lambda row: row["experiment"]) + [
        {"mode": mode, "experiment": "all", "wall_s": round(wall, 2), "cpu_s": round(cpu, 2)}]


@contextlib.contextmanager
def worktree(revision: str) -> Iterator[tuple[Path, str]]:
    """A temporary ``git worktree`` of ``revision`` (its folder and full commit), removed afterwards."""
    commit = subprocess.run(["git", "rev-parse", revision], cwd=REPO, check=True, capture_output=True,
                            text=True).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="effcode-bench-") as parent:
        folder = Path(parent) / "code"
        subprocess.run(["git", "worktree", "add", "--detach", str(folder), commit], cwd=REPO, check=True,
                       capture_output=True)
        try:
            yield folder, commit
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(folder)], cwd=REPO, check=True,
                           capture_output=True)


def previous_times() -> dict:
    """(mode, experiment) -> the row of the last ``suite.csv``, or nothing when there is none."""
    path = FOLDER / "suite.csv"
    if not path.exists():
        return {}
    table = read_csv(path)
    rows = [dict(zip(table, values)) for values in zip(*table.values())]
    return {(row["mode"], str(row["experiment"]).zfill(2)): row for row in rows}


def measure(numbers: list[str], modes: list[str], *, code: Path, n_jobs: int) -> list[dict]:
    """The rows of :func:`time_suite` for each mode, the code of folder ``code`` in a new results folder."""
    rows = []
    for mode in modes:
        with tempfile.TemporaryDirectory(prefix=f"effcode-suite-{mode}-") as folder:
            rows += time_suite(numbers, mode, Path(folder), code=code, n_jobs=n_jobs)
        print(rows[-1], flush=True)
    return rows


def table(rows: list[dict], *, compared: dict, commit: str, compared_commit: str) -> dict:
    """The published columns: this code's times, the compared code's and their ratios."""
    columns = {name: [] for name in ("mode", "experiment", "wall_s", "cpu_s", "compared_wall_s", "compared_cpu_s",
                                     "wall_ratio", "cpu_ratio", "commit", "compared_commit")}
    for row in rows:
        other = compared.get((row["mode"], row["experiment"]), {})
        values = {**row, "compared_wall_s": other.get("wall_s", ""), "compared_cpu_s": other.get("cpu_s", ""),
                  "commit": commit, "compared_commit": other.get("commit", compared_commit)}
        for kind in ("wall", "cpu"):
            mine, theirs = row[f"{kind}_s"], values[f"compared_{kind}_s"]
            values[f"{kind}_ratio"] = round(float(theirs) / mine, 2) if theirs != "" and mine else ""
        for name in columns:
            columns[name].append(values[name])
    return columns


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick-only", action="store_true", help="time the quick suite only (minutes, not an hour)")
    parser.add_argument("--against", metavar="REV", help="also time commit REV's code, side by side in this run")
    parser.add_argument("--only", nargs="+", metavar="NN", help="these experiments only (default: all)")
    parser.add_argument("--n-jobs", type=int, default=1, help="effcode run's --n-jobs for each experiment")
    args = parser.parse_args()
    numbers = [f"{int(n):02d}" for n in args.only] if args.only else declarations().names()
    modes = ["quick"] if args.quick_only else ["quick", "full"]
    commit = git_commit() or "unknown"
    if args.against:
        with worktree(args.against) as (folder, compared_commit):
            compared = {(row["mode"], row["experiment"]): row
                        for row in measure(numbers, modes, code=folder, n_jobs=args.n_jobs)}
    else:
        compared, compared_commit = previous_times(), ""
    rows = measure(numbers, modes, code=REPO, n_jobs=args.n_jobs)
    result = table(rows, compared=compared, commit=commit, compared_commit=compared_commit)
    quick_total = rows[[r["experiment"] for r in rows].index("all")]
    print(publish("suite", result, title="The experiment suite: time per experiment from an empty cache",
                  headline=f"effcode run all --quick: {quick_total['wall_s']:.0f} s wall-clock, "
                           f"{quick_total['cpu_s']:.0f} s of CPU",
                  notes="Each mode as one `effcode run NN NN ...` process from an empty results folder (start-up "
                        "paid once, shared cached steps reused, as in run all); per experiment: its `done in` "
                        "wall-clock and its process's CPU time; row all: the whole command, user + system time. "
                        "compared: " + (f"commit {compared_commit[:12]} measured in the same run, interleaved"
                                        if args.against else "the previous suite.csv") +
                        "; ratio = compared / this (above 1: this code is faster)."))


if __name__ == "__main__":
    main()
