"""benchmarks/bench_encoding.py: its published table, and a smoke run that writes its record."""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from effcode.runs import read_csv, read_json

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_encoding.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_encoding", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    yield module
    sys.path.remove(str(SCRIPT.parent))   # the script puts benchmarks/ on the path for its _report


def test_summary_pairs_the_scores_per_cell_and_the_times_per_repetition(bench):
    ours = {"bits_per_spike": np.array([0.1, 0.2, 0.3, 0.4, 0.5]), "correlation": np.array([0.5, 0.6, 0.7, 0.8, 0.9])}
    theirs = {"bits_per_spike": ours["bits_per_spike"] + 0.01, "correlation": ours["correlation"].copy()}
    table = bench.summary(ours, theirs, own_times=[1.0, 2.0, 4.0], peer_times=[2.0, 6.0, 4.0])
    bits, correlation, seconds = (dict(zip(table, row)) for row in zip(*table.values()))
    assert bits["effcode"] == pytest.approx(0.3) and bits["peer"] == pytest.approx(0.31)
    assert bits["peer_minus_effcode"] == pytest.approx(0.01)
    assert bits["ci_low"] == pytest.approx(0.01) and bits["ci_high"] == pytest.approx(0.01)   # every cell +0.01
    assert correlation["peer_minus_effcode"] == 0.0
    assert seconds["effcode"] == 2.0 and seconds["peer"] == 4.0
    # per-repetition ratios 2, 3, 1: not the ratio of the medians (2)
    assert (seconds["peer_over_effcode"], seconds["ratio_min"], seconds["ratio_max"]) == (2.0, 1.0, 3.0)
    assert seconds["peer_minus_effcode"] == ""


def test_quick_run_writes_the_csv_record_and_readme(bench, tmp_path):
    pytest.importorskip("glum")
    bench.main(["--quick", "--out", str(tmp_path)])
    table = read_csv(tmp_path / "encoding.csv")
    assert len(table["measurement"]) == 3
    record = read_json(tmp_path / "encoding.json")
    assert "smoke test" in record["notes"] and record["headline"].startswith("glum takes")
    assert np.isfinite(float(table["peer_over_effcode"][2])) and float(table["effcode"][2]) > 0
    # the simulated cells are well fitted by both: a GLM of an LN cell predicts it
    assert float(table["effcode"][1]) > 0.5 and abs(float(table["peer_minus_effcode"][1])) < 0.05
    assert "Encoding models" in (tmp_path / "README.md").read_text()
