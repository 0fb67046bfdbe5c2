"""Experiments 08 and 09 on recordings: a user's npz runs through both; antolik2016 missing is a one-line error."""

import json

import numpy as np
import pytest

from effcode.cli import main


@pytest.mark.parametrize("number", ["08", "09"])
def test_missing_antolik2016_is_a_one_line_error(number, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("EFFCODE_DATA_DIR", str(tmp_path / "empty cache"))
    assert main(["run", number, "--quick", "--quiet", "--set", "recordings=antolik2016",
                 "--results", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "antolik2016 recordings are not in the data cache" in err and "\n" not in err
    assert not (tmp_path / "REPORT.md").exists()


def test_experiments_08_and_09_run_on_a_users_recordings(tmp_path, one_torch_thread):
    rng = np.random.default_rng(0)
    side, cells = 12, 4
    filters = rng.normal(size=(cells, side * side)) / side
    x = rng.normal(size=(330, side, side))
    rate = np.exp(0.8 * x.reshape(len(x), -1) @ filters.T)
    np.savez(tmp_path / "lab.npz", train_stimuli=x[:300], train_responses=rng.poisson(rate[:300]),
             test_stimuli=x[300:], test_responses=rng.poisson(rate[300:], size=(5, 30, cells)))
    settings = ["--quick", "--quiet", "--set", f"recordings={tmp_path / 'lab.npz'}", "--results", str(tmp_path)]
    assert main(["run", "08", *settings]) == 0
    metrics = json.loads((tmp_path / "08_encoding" / "metrics.json").read_text())
    table = metrics["table"]
    assert set(table) == {"glm", "cnn", "efficient"} and metrics["noise"] == {"lab": "poisson"}
    assert table["glm"]["lab"]["correlation"]["median"] > 0.5     # linear-exponential cells: the GLM fits them
    assert table["glm"]["lab"]["feve"]["n_cells"] == cells
    assert main(["run", "09", *settings, "--set", "n_stimuli=200"]) == 0
    report = (tmp_path / "REPORT.md").read_text()
    assert "| GLM | lab | 4 |" in report and "| CNN: lab | 4 |" in report
