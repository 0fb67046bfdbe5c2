"""Contract test over every registered experiment, and a user's objective flowing through experiment 06."""

import importlib
from pathlib import Path

import pytest
import torch

from effcode.cli import main
from effcode.experiments import EXPERIMENTS, get_experiment
from effcode.objectives import OBJECTIVES, Objective

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("number", EXPERIMENTS.names())
def test_experiment_contract(number):
    exp = EXPERIMENTS.get(number)
    assert exp.number == number and len(number) == 2
    script = ROOT / "experiments" / f"{exp.slug}.py"
    assert script.exists(), f"missing thin script {script}"
    assert f'"run", "{number}"' in script.read_text()
    assert set(exp.quick) <= set(exp.defaults), "quick settings must override existing keys"
    quick, full = exp.config(quick=True), exp.config()
    assert quick.keys() == full.keys() and "seed" in full and "source" in full
    assert callable(exp.compute) and callable(exp.plot) and exp.title and exp.description
    assert get_experiment(int(number)) is exp and get_experiment(exp.slug) is exp


def test_the_suite_covers_the_numbered_experiments():
    scripts = sorted(p.stem for p in (ROOT / "experiments").glob("[0-9][0-9]_*.py"))
    assert scripts == [EXPERIMENTS.get(n).slug for n in EXPERIMENTS.names()]


class Softplus(Objective):
    """A user's penalty: S(a) = log(1 + |a|), prox by a few fixed-point steps."""

    name = "my_objective"

    def penalty(self, a):
        return torch.log1p(a.abs())

    def prox(self, v, step, dim=-1):
        x = v.clone()
        for _ in range(5):
            x = torch.sign(v) * torch.clamp(v.abs() - step * self.lam / (1 + x.abs()), min=0)
        return x


def test_user_objective_flows_through_a_quick_sweep(tmp_path, small_image_folder):
    OBJECTIVES.register("my_objective", Softplus)
    try:
        argv = ["run", "06", "--quick", "--quiet", "--results", str(tmp_path), "--set", "objectives=[l1,my_objective]",
                "--set", "levels=[1.0]", "--set", "n_seeds=1", "--set", "n_filters=8", "--set", "patch_size=6",
                "--set", "n_steps=5", "--set", f"source={small_image_folder}", "--set", "n_bootstrap=20"]
        assert main(argv) == 0
    finally:
        OBJECTIVES.unregister("my_objective")
    folder = tmp_path / "06_objective_sweep"
    summary = importlib.import_module("json").loads((folder / "metrics.json").read_text())
    assert set(summary) == {"l1@1.0", "my_objective@1.0"}
    assert 0 < summary["my_objective@1.0"]["active_fraction"] <= 1
    assert "my_objective" in (tmp_path / "REPORT.md").read_text()
    assert (folder / "figures" / "sweep.png").exists()


def test_the_quick_suite_runs_end_to_end_and_redraws_from_its_cache(tmp_path):
    """`effcode run all --quick` (the README's main job: every experiment, small sizes, the default
    images) writes every experiment's results and a report whose figures all exist; `effcode figures`
    then redraws everything from the cached results alone."""
    import re
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")           # quick sizes stop some iterative fits at their caps
        assert main(["run", "all", "--quick", "--quiet", "--results", str(tmp_path)]) == 0
    report = (tmp_path / "REPORT.md").read_text()
    for number in EXPERIMENTS.names():
        exp = get_experiment(number)
        assert f"## {number}. " in report, number
        assert (tmp_path / exp.slug / "provenance.json").exists()
    figures = re.findall(r"!\[[^\]]*\]\(([^)]+\.png)\)", report)
    assert len(figures) >= len(EXPERIMENTS.names())
    assert all((tmp_path / f).exists() for f in figures)
    assert not list(tmp_path.glob("*/figures/*.pdf"))      # quick runs draw PNG only
    for folder in tmp_path.glob("*/cache"):
        for path in folder.iterdir():
            path.unlink()
    for png in tmp_path.glob("*/figures/*.png"):
        png.unlink()
    assert main(["figures", "--quiet", "--results", str(tmp_path)]) == 0
    assert all((tmp_path / f).exists() for f in figures)


def test_parallel_runs_hand_out_the_longest_recorded_experiments_first(tmp_path):
    from effcode.experiments.suite import longest_first
    from effcode.runs import write_json
    for number, seconds in (("01", 10.0), ("02", 300.0), ("03", 50.0)):
        write_json(tmp_path / get_experiment(number).slug / "provenance.json", {"total_compute_seconds": seconds})
    (tmp_path / get_experiment("05").slug).mkdir()
    (tmp_path / get_experiment("05").slug / "provenance.json").write_text("{not json")
    # no record (04) or an unreadable one (05) first, in the given order; then the longest first
    assert longest_first(["01", "02", "03", "04", "05"], tmp_path) == ["04", "05", "02", "03", "01"]
    # a folder with no records (a first quick run) takes the costs another folder recorded (the full run's)
    quick = tmp_path / "quick"
    write_json(quick / get_experiment("03").slug / "provenance.json", {"total_compute_seconds": 500.0})
    assert longest_first(["01", "02", "03", "04"], quick, (tmp_path,)) == ["04", "03", "02", "01"]


def test_the_report_names_the_images_a_run_read(tmp_path, small_image_folder):
    import os
    tiny = ["--set", "n_filters=8", "--set", "patch_size=6", "--set", "n_steps=3", "--set", "n_seeds=1"]
    results = tmp_path / "results"
    assert main(["run", "01", *tiny, "--quiet", "--results", str(results), "--set",
                 f"source={small_image_folder}"]) == 0
    header = (results / "REPORT.md").read_text().split("## 01.")[1]
    relative = os.path.relpath(small_image_folder, results)
    assert f"images: the folder `{relative}` (2 images)" in header
    assert "default images" not in header
