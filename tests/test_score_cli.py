"""``effcode score FILE``: a filter bank of one's own (.npy, .npz, PyTorch state dict or checkpoint) scored
against V1 by the one scorer, with a report; and the same input forms in ``effcode.v1.score_population``."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from torch import nn

from effcode.cli import SCORE_CHANNEL_RULE, SCORE_PERMUTATIONS, main
from effcode.errors import InputError
from effcode.gabor import synthetic_gabors
from effcode.learners import FilterBank
from effcode.v1 import DEFAULT_PERMUTATIONS, load_filter_bank, score_population
from effcode.v1.bank_file import BT601, CHANNEL_RULE
from effcode.v1.claims import RINGACH2002, ringach_results, verdict

#: fast scorer settings for the tests (same code paths)
FAST = ["--n-bootstrap", "100", "--n-permutations", "199", "--quiet"]


@pytest.fixture(scope="module")
def gabors():
    """40 noisy 16x16 Gabors (signal-to-noise 10): every one is Gabor-like by construction."""
    return synthetic_gabors(40, (16, 16), snr=10.0, random_state=3)[0].astype(np.float32)


def _score(path, results, name, *extra) -> dict:
    status = main(["score", str(path), "--results", str(results), "--name", name, *FAST, *extra])
    assert status == 0
    folder = results / name
    return {"metrics": json.loads((folder / "metrics.json").read_text()),
            "report": (folder / "REPORT.md").read_text(), "folder": folder}


def _funnel_row(metrics: dict) -> str:
    name = metrics["learners"][0]
    f = metrics["per_seed"][name][0]["funnel"]
    n = metrics["per_seed"][name][0]["n_unresolved"]
    return (f"| {name} | {f['all units']} | {f['fit succeeded']} | {f['R² ≥ threshold']} | "
            f"{f['nx and ny resolved']} | {n} | {f['inside the reference grid']} |")


def _verdict(metrics: dict) -> str:
    name = metrics["learners"][0]
    return verdict(RINGACH2002, ringach_results([metrics["per_seed"][name][0]["findings"]])).verdict


def test_a_gabor_bank_is_found_gabor_like_and_white_noise_is_not(tmp_path, gabors):
    np.save(tmp_path / "gabors.npy", gabors)
    noise = np.random.default_rng(0).standard_normal(gabors.shape).astype(np.float32)
    np.save(tmp_path / "noise.npy", noise.reshape(len(noise), -1))   # (K, p*p) rows are read as p x p filters
    out = _score(tmp_path / "gabors.npy", tmp_path / "res", "gabors")
    m = out["metrics"]["per_seed"]["gabors"][0]
    assert m["funnel"]["all units"] == 40
    assert m["funnel"]["R² ≥ threshold"] >= 36          # known answer: Gabors at SNR 10 fit with R² ≥ 0.7
    assert m["r2"]["median_r2"] > 0.85
    report = out["report"]
    assert _funnel_row(out["metrics"]) in report
    assert f"Gabor-like units (Gabor fit R² ≥ 0.70): {m['funnel']['R² ≥ threshold']} of 40" in report
    assert f"| {_verdict(out['metrics'])} |\n" in report            # the findings table's verdict column
    assert f"**Verdict:** gabors: Ringach (2002):" in report
    for stem in ("filters", "funnel", "nxny", "properties", "similarity_table"):
        assert (out["folder"] / "figures" / f"{stem}.png").stat().st_size > 0
        assert f"figures/{stem}.png" in report
    assert np.allclose(np.load(out["folder"] / "filters.npy"), gabors)

    with pytest.warns(UserWarning, match="Gabor-like"):
        control = _score(tmp_path / "noise.npy", tmp_path / "res", "noise")
    c = control["metrics"]["per_seed"]["noise"][0]
    assert c["funnel"]["R² ≥ threshold"] <= 4            # white noise is not Gabor-like
    assert _funnel_row(control["metrics"]) in control["report"]
    assert "no population statistics" in control["report"]


def test_a_saved_learner_bank_is_scored_as_its_array_is(tmp_path, gabors):
    bank = FilterBank(filters=gabors, basis=gabors[::-1].copy(), method="sparse_coding")
    path = bank.save(tmp_path / "bank.npz")
    settings = dict(n_bootstrap=50, n_permutations=99, population="filters")
    from_file = score_population(str(path), **settings).metrics()
    from_array = score_population(gabors, **settings).metrics()
    assert json.dumps(from_file, sort_keys=True, default=str) == json.dumps(from_array, sort_keys=True, default=str)
    assert np.array_equal(load_filter_bank(path, layer="basis"), gabors[::-1])


class SmallNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 40, 16)
        self.conv2 = nn.Conv2d(40, 8, 3)
        self.fc = nn.Linear(8, 10)


def _net_with_gabor_conv1(gabors, gains=(1.0, 2.0, 3.0)) -> SmallNet:
    """A net whose conv1 unit o, channel c, is gains[c] x Gabor o: its luminance filter is known."""
    torch.manual_seed(0)
    net = SmallNet()
    with torch.no_grad():
        net.conv1.weight.copy_(torch.from_numpy(gabors)[:, None] * torch.tensor(gains)[None, :, None, None])
    return net


def test_a_torch_state_dicts_first_convolution_is_read_with_the_stated_colour_rule(tmp_path, gabors):
    net = _net_with_gabor_conv1(gabors)
    torch.save(net.state_dict(), tmp_path / "net.pt")
    torch.save({"epoch": 7, "optimizer": {}, "model_state_dict": net.state_dict()}, tmp_path / "checkpoint.pth")
    assert np.allclose(load_filter_bank(tmp_path / "net.pt"), 2.0 * gabors, atol=1e-5)   # mean of 1, 2, 3
    assert np.allclose(load_filter_bank(tmp_path / "checkpoint.pth"), 2.0 * gabors, atol=1e-5)
    assert np.allclose(load_filter_bank(tmp_path / "net.pt", channel_weights=BT601),
                       (0.299 + 2 * 0.587 + 3 * 0.114) * gabors, atol=1e-5)
    assert load_filter_bank(tmp_path / "net.pt", layer="conv2").shape == (8, 3, 3)

    out = _score(tmp_path / "net.pt", tmp_path / "res", "net")
    record = out["metrics"]["input"]
    assert record["entry"] == "conv1.weight" and record["raw_shape"] == [40, 3, 16, 16]
    assert CHANNEL_RULE in out["report"]
    m = out["metrics"]["per_seed"]["net"][0]
    assert m["funnel"]["R² ≥ threshold"] >= 36
    assert _funnel_row(out["metrics"]) in out["report"]
    assert (out["folder"] / "figures" / "nxny.png").exists()


def test_random_conv1_weights_are_not_gabor_like(tmp_path):
    torch.manual_seed(1)
    torch.save(SmallNet().state_dict(), tmp_path / "untrained.pt")
    filters = load_filter_bank(tmp_path / "untrained.pt")
    fit_r2 = score_population(filters, population="filters", n_bootstrap=50, n_permutations=99).units["fit_r2"]
    assert np.mean(fit_r2 >= 0.7) < 0.2


@pytest.mark.parametrize("make, message", [
    (lambda d: d / "missing.npy", "no filter-bank file"),
    (lambda d: (np.save(d / "flat.npy", np.zeros((4, 15))), d / "flat.npy")[1], "(K, p*p)"),
    (lambda d: (np.save(d / "five.npy", np.zeros((2, 2, 2, 2, 2))), d / "five.npy")[1], "expected (K, p, p)"),
    (lambda d: (torch.save(nn.Linear(4, 2).state_dict(), d / "linear.pt"), d / "linear.pt")[1],
     "no 4-D convolution weight"),
    (lambda d: (torch.save(nn.Conv2d(3, 4, (5, 3)).state_dict(), d / "rect.pt"), d / "rect.pt")[1],
     "non-square kernels 5x3"),
    (lambda d: (np.savez(d / "two.npz", a=np.zeros((2, 4, 4)), b=np.zeros((2, 4, 4))), d / "two.npz")[1],
     "--layer KEY"),
    (lambda d: ((d / "notes.txt").write_text("hello"), d / "notes.txt")[1], "save model.state_dict()"),
])
def test_bad_files_are_one_line_errors(tmp_path, capsys, make, message):
    path = make(tmp_path)
    assert main(["score", str(path), "--results", str(tmp_path / "res"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("effcode: error: ") and err.count("\n") == 1 and message in err
    assert not (tmp_path / "res" / path.stem).exists()
    with pytest.raises(InputError, match="filter-bank file|shape|convolution|kernels|arrays|torch.load"):
        load_filter_bank(path)


def test_help_and_early_errors_start_light_and_match_the_library(tmp_path):
    probe = ("import json, sys\nfrom effcode.cli import main\ntry:\n    status = main(sys.argv[1:])\n"
             "except SystemExit as exit:\n    status = exit.code\n"
             "print(json.dumps({'status': status, 'heavy': sorted(m for m in ('torch', 'matplotlib', 'sklearn') "
             "if m in sys.modules)}))")
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    for argv, status in ((["score", "--help"], 0), (["score", str(tmp_path / "missing.pt")], 2)):
        done = subprocess.run([sys.executable, "-c", probe, *argv], capture_output=True, text=True, env=env, check=True)
        assert json.loads(done.stdout.strip().splitlines()[-1]) == {"status": status, "heavy": []}, argv
    assert SCORE_CHANNEL_RULE == CHANNEL_RULE and SCORE_PERMUTATIONS == DEFAULT_PERMUTATIONS
    done = subprocess.run([sys.executable, "-m", "effcode", "score", "--help"], capture_output=True, text=True,
                          env=env, check=True)
    text = " ".join(done.stdout.split())
    for words in ("torch.save(model.state_dict())", "first 4-D tensor", "REPORT.md", "Ringach 2002", " ".join(
            CHANNEL_RULE.split())):
        assert words in text
