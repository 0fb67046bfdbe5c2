"""The one scorer (effcode.v1.score_population), its selection funnel, Ringach's findings as tests,
and the across-seed statistics (effcode.stats), on synthetic populations with a known truth."""

import math

import numpy as np
import pytest

from effcode import stats, v1
from effcode.errors import InputError
from effcode.gabor.model import gabor_from_table
from effcode.v1.findings import BLOB_EDGE, ringach_findings, wilson_interval


def gabor_population(nx, ny, shape, seed, *, snr=10.0, phase=None, max_sigma=None):
    """Noisy Gabors with the given nx, ny near the patch centre; sigma of the longer axis = max_sigma px."""
    rng = np.random.default_rng(seed)
    n, (h, w) = nx.size, shape
    max_sigma = max_sigma or h / 8
    freq = np.clip(np.maximum(nx, ny) / max_sigma, 0.02, 0.4)
    truth = {"x0": rng.uniform(w / 2 - 2, w / 2 + 2, n), "y0": rng.uniform(h / 2 - 2, h / 2 + 2, n),
             "theta": rng.uniform(0, np.pi, n), "freq": freq,
             "phase": rng.uniform(-np.pi, np.pi, n) if phase is None else np.full(n, phase),
             "sigma_x": nx / freq, "sigma_y": ny / freq, "amplitude": np.ones(n)}
    clean = gabor_from_table(truth, shape)
    noise_sd = np.sqrt((clean ** 2).mean(axis=(1, 2)) / snr)
    return clean + rng.standard_normal(clean.shape) * noise_sd[:, None, None]


@pytest.fixture(scope="module")
def v1_like():
    nx, ny = v1.ringach2002_nxny_histogram().sample(150, seed=0)
    filters = gabor_population(nx, ny, (32, 32), seed=0)
    return nx, ny, v1.score_population(filters, name="V1-like", n_bootstrap=500)


def test_v1_like_gabors_are_not_rejected_and_medians_are_recovered(v1_like):
    # known answer: 150 Gabors of 32x32 with (nx, ny) from Ringach's histogram at SNR 10
    nx, ny, score = v1_like
    assert score.nxny_p_value >= 0.05
    assert score.median_nx["value"] == pytest.approx(np.median(nx), rel=0.15)
    assert score.median_ny["value"] == pytest.approx(np.median(ny), rel=0.15)
    assert score.median_nx["lo"] <= np.median(nx) <= score.median_nx["hi"]


def test_the_funnel_counts_every_stage(v1_like):
    _, _, score = v1_like
    counts = [score.funnel[stage] for stage in v1.STAGES]
    assert counts[0] == 150 and counts == sorted(counts, reverse=True)
    assert score.n_unresolved == counts[2] - counts[3]
    m = score.metrics()
    assert m["name"] == "V1-like" and m["population"] == "filters"
    assert list(m["funnel"]) == list(v1.STAGES)
    units = score.units
    assert units["resolved"].sum() == counts[3] and units["in_grid"].sum() == counts[4]
    assert not np.any(units["in_grid"] & ~units["resolved"])


def test_an_elongated_population_is_rejected():
    rng = np.random.default_rng(1)
    nx, ny = rng.uniform(0.3, 0.6, 150), rng.uniform(1.0, 1.5, 150)
    score = v1.score_population(gabor_population(nx, ny, (32, 32), seed=1), n_bootstrap=500)
    assert score.nxny_p_value < 0.01
    assert score.findings["more_elongated"]["holds"]
    assert not score.findings["more_subfields"]["holds"] or score.median_nx["value"] > 0.37


def test_odd_gabors_with_few_subfields_keep_their_medians_on_small_patches():
    # known answer: odd-symmetric, low nx (0.15-0.3, below V1's median 0.37) on 16x16 patches
    rng = np.random.default_rng(3)
    nx, ny = rng.uniform(0.15, 0.3, 100), rng.uniform(0.3, 0.6, 100)
    score = v1.score_population(gabor_population(nx, ny, (16, 16), seed=3, phase=np.pi / 2, max_sigma=2.5),
                                n_bootstrap=300)
    assert score.funnel["nx and ny resolved"] >= 60
    assert score.median_nx["value"] == pytest.approx(np.median(nx), rel=0.15)
    assert score.median_ny["value"] == pytest.approx(np.median(ny), rel=0.15)


def test_unidentified_low_frequency_fits_are_their_own_class():
    # derivative-of-Gaussian shapes (odd, f = 0.02 c/px, nx ~ 0.04): R² is high but flat along a ridge
    # of (sigma, f), so the fitted nx wanders; the fit's own standard errors flag them as unresolved
    n, rng = 20, np.random.default_rng(4)
    truth = {"x0": rng.uniform(6, 9, n), "y0": rng.uniform(6, 9, n), "theta": rng.uniform(0, np.pi, n),
             "freq": np.full(n, 0.02), "phase": np.full(n, np.pi / 2), "sigma_x": rng.uniform(1.5, 2.5, n),
             "sigma_y": rng.uniform(2.5, 4.0, n), "amplitude": np.ones(n)}
    clean = gabor_from_table(truth, (16, 16))
    noisy = clean + rng.standard_normal(clean.shape) * np.sqrt((clean ** 2).mean(axis=(1, 2)) / 10)[:, None, None]
    score = v1.score_population(noisy, n_bootstrap=100)
    assert score.funnel["R² ≥ threshold"] == n
    assert score.n_unresolved >= 0.8 * n


def test_uninformative_properties_stay_out_of_the_mean(v1_like):
    _, _, score = v1_like
    assert "modulation_ratio" in v1.EXCLUDED_FROM_MEAN and "peak_sf" in v1.EXCLUDED_FROM_MEAN
    # every linear filter has F1/F0 = pi/2, so its score is the same for any population
    informative = [s for p, s in score.similarity.items() if p not in v1.EXCLUDED_FROM_MEAN]
    assert score.mean_similarity == pytest.approx(np.mean(informative))
    assert set(score.peak_sf_by_ppd) == {"10", "20", "40"}


def test_a_bank_is_scored_on_the_named_population():
    from effcode.learners import FilterBank

    rng = np.random.default_rng(5)
    nx, ny = rng.uniform(0.3, 0.6, 12), rng.uniform(0.3, 0.6, 12)
    gabors = gabor_population(nx, ny, (16, 16), seed=5, max_sigma=2.5)
    bank = FilterBank(filters=rng.standard_normal(gabors.shape), basis=gabors, method="test")
    basis = v1.score_population(bank, population="basis", n_bootstrap=50)
    filters = v1.score_population(bank, population="filters", n_bootstrap=50)
    assert basis.population == "basis" and basis.r2["median_r2"] > 0.8 > filters.r2["median_r2"]
    with pytest.raises(InputError, match="population"):
        v1.score_population(bank, population="weights")


def test_findings_known_answers():
    hist = v1.ringach2002_nxny_histogram()
    nx, ny = hist.sample(300, seed=2)
    same = ringach_findings(nx, ny)
    assert not same["more_subfields"]["holds"] and not same["more_elongated"]["holds"]
    assert not same["fewer_blobs"]["holds"]
    assert same["fewer_blobs"]["v1_fraction"] == pytest.approx(19 / 79)
    rng = np.random.default_rng(0)
    model = ringach_findings(rng.uniform(0.6, 1.2, 100), rng.uniform(0.8, 1.5, 100))
    assert all(model[f]["holds"] for f in v1.FINDINGS)
    assert model["fewer_blobs"]["fraction"] == 0.0 and model["more_subfields"]["effect"] > 0.9
    assert BLOB_EDGE == pytest.approx(10 ** -0.52)


def test_wilson_interval_covers_the_proportion():
    lo, hi = wilson_interval(5, 20)
    assert lo < 0.25 < hi and 0 <= lo and hi <= 1
    assert wilson_interval(0, 10)[0] == pytest.approx(0.0, abs=1e-12)


# ------------------------------------------------------------------------ across seeds


def test_seed_interval_known_answer():
    # mean 2, sd 1, n 3: half-width t(0.975, 2) / sqrt(3) = 4.303 / 1.732
    out = stats.seed_interval([1.0, 2.0, 3.0])
    assert out["mean"] == 2.0 and out["sd"] == 1.0 and out["n"] == 3
    assert out["hi"] - out["mean"] == pytest.approx(4.3027 / math.sqrt(3), rel=1e-4)
    assert math.isnan(stats.seed_interval([1.0])["lo"])
    assert stats.seed_interval([1.0, float("nan"), 3.0])["n"] == 2


def test_paired_test_known_answers():
    # the same shift in every seed: certain, infinite effect size
    out = stats.paired_test([1.0, 2.0, 3.0], [1.5, 2.5, 3.5])
    assert out["difference"] == pytest.approx(-0.5) and out["p_value"] == 0.0 and out["wins_a"] == 3
    assert out["cohens_dz"] == -math.inf
    # noisy differences around zero: no evidence
    out = stats.paired_test([1.0, 2.0, 3.0], [1.2, 1.7, 3.1])
    assert out["p_value"] > 0.5 and out["lo"] < 0 < out["hi"]
    with pytest.raises(InputError, match="pair up"):
        stats.paired_test([1.0, 2.0], [1.0])


def test_paired_test_is_calibrated_under_the_null():
    rng = np.random.default_rng(0)
    p = [stats.paired_test(rng.normal(size=3), rng.normal(size=3))["p_value"] for _ in range(4000)]
    assert np.mean(np.array(p) < 0.05) == pytest.approx(0.05, abs=0.012)


def test_equivalence_test_known_answers():
    assert stats.equivalence_test(0.01, 0.01, 0.05)["equivalent"]
    out = stats.equivalence_test(0.04, 0.03, 0.05)
    assert not out["equivalent"] and out["lo"] < 0.05 < out["hi"]
    with pytest.raises(InputError, match="margin"):
        stats.equivalence_test(0.0, 0.1, 0.0)
