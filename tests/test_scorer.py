"""The one scorer (effcode.v1.score_population), its selection funnel, Ringach's findings as tests,
and the across-seed statistics (effcode.stats), on synthetic populations with a known truth."""

import itertools
import json
import math

import numpy as np
import pytest

from effcode import stats, v1
from effcode.errors import InputError
from effcode.gabor.model import gabor_from_table
from effcode.v1.findings import BLOB_EDGE, findings_bracket, ringach_findings, wilson_interval
from effcode.v1.nxny import extreme_distance_counts
from effcode.v1.scorer import DEFAULT_PERMUTATIONS
from effcode.v1.stats import format_p, permutations_for
from test_physiology import linear_sparse_coding_bank, orthonormal_gabors


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
    nx, ny = v1.ringach2002_nxny_histogram().sample(150, random_state=0)
    filters = gabor_population(nx, ny, (32, 32), seed=0)
    return nx, ny, v1.score_population(filters, population="filters", name="V1-like", n_bootstrap=500)


def test_v1_like_gabors_are_not_rejected_and_medians_are_recovered(v1_like):
    # known answer: 150 Gabors of 32x32 with (nx, ny) from Ringach's histogram at SNR 10
    nx, ny, score = v1_like
    assert score.nxny_p_value >= 0.05
    assert score.median_nx["value"] == pytest.approx(np.median(nx), rel=0.15)
    assert score.median_ny["value"] == pytest.approx(np.median(ny), rel=0.15)
    assert score.median_nx["lo"] <= np.median(nx) <= score.median_nx["hi"]


def test_the_funnel_counts_every_stage_and_every_gabor_like_unit_is_compared(v1_like):
    _, _, score = v1_like
    counts = [score.funnel[stage] for stage in v1.STAGES]
    assert counts[0] == 150 and counts[:3] == sorted(counts[:3], reverse=True) and max(counts[3:]) <= counts[2]
    assert score.n_unresolved == counts[2] - counts[3]
    m = score.metrics()
    json.dumps(m)
    assert m["name"] == "V1-like" and m["population"] == "filters"
    assert list(m["funnel"]) == list(v1.STAGES)
    units = score.units
    assert units["resolved"].sum() == counts[3] and units["in_grid"].sum() == counts[4]
    assert not np.any((units["resolved"] | units["in_grid"]) & ~units["r2_ok"])
    # no selection: the tests see every unit with R² >= threshold, placed or not
    assert m["nxny"]["n_model"] == counts[2] == m["classification"]["compared"]
    assert all(m["findings"][f][end]["n_model"] == counts[2] for f in v1.FINDINGS for end in ("least", "most", "point"))
    # SNR 10 on 32x32: the 95% profile intervals hold the true values of about 95% of the units
    nx, ny, _ = v1_like
    r2_ok = units["r2_ok"]
    for axis, truth in (("nx", nx), ("ny", ny)):
        inside = (units[f"{axis}_lo"] <= truth) & (truth <= units[f"{axis}_hi"])
        assert np.mean(inside[r2_ok]) >= 0.88
    # the bracket holds the point estimate, and the V1-like population is not told apart from V1
    blob = m["blob_fraction"]
    assert blob["lo"] <= blob["point"] <= blob["hi"] and blob["v1"] == pytest.approx(19 / 79)
    assert m["nxny_bracket"]["least"]["distance"] >= m["nxny"]["distance"] >= m["nxny_bracket"]["most"]["distance"]
    assert m["nxny_bracket"]["most"]["p_value"] >= 0.05
    assert m["nxny"]["p_floor"] == pytest.approx(1 / (DEFAULT_PERMUTATIONS + 1))
    assert all(m["findings"][f]["conclusion"] in ("does not hold", "undetermined") for f in v1.FINDINGS)


def test_an_elongated_population_is_rejected():
    rng = np.random.default_rng(1)
    nx, ny = rng.uniform(0.3, 0.6, 150), rng.uniform(1.0, 1.5, 150)
    score = v1.score_population(gabor_population(nx, ny, (32, 32), seed=1), n_bootstrap=500)
    assert score.nxny_p_value < 0.01
    assert score.nxny_bracket["conclusion"] == "differs from V1"
    assert score.findings["more_elongated"]["conclusion"] == "holds"
    # nx 0.3-0.6 has a median above V1's 0.37: "more subfields" may hold, and only then
    assert score.findings["more_subfields"]["conclusion"] != "holds" or score.median_nx["value"] > 0.37


def test_odd_gabors_with_few_subfields_keep_their_medians_on_small_patches():
    # known answer: odd-symmetric, low nx (0.15-0.3, below V1's median 0.37) on 16x16 patches
    rng = np.random.default_rng(3)
    nx, ny = rng.uniform(0.15, 0.3, 100), rng.uniform(0.3, 0.6, 100)
    score = v1.score_population(gabor_population(nx, ny, (16, 16), seed=3, phase=np.pi / 2, max_sigma=2.5),
                                n_bootstrap=300)
    assert score.funnel["R² ≥ threshold"] >= 95
    assert score.median_nx["value"] == pytest.approx(np.median(nx), rel=0.15)
    assert score.median_ny["value"] == pytest.approx(np.median(ny), rel=0.15)


def test_unidentified_low_frequency_fits_are_their_own_class():
    # derivative-of-Gaussian shapes (odd, f = 0.02 c/px, nx ~ 0.04): R² is high but flat along a ridge
    # of (sigma, f), so nx is bounded above but not below: the profile intervals leave them undetermined
    n, rng = 20, np.random.default_rng(4)
    truth = {"x0": rng.uniform(6, 9, n), "y0": rng.uniform(6, 9, n), "theta": rng.uniform(0, np.pi, n),
             "freq": np.full(n, 0.02), "phase": np.full(n, np.pi / 2), "sigma_x": rng.uniform(1.5, 2.5, n),
             "sigma_y": rng.uniform(2.5, 4.0, n), "amplitude": np.ones(n)}
    clean = gabor_from_table(truth, (16, 16))
    noisy = clean + rng.standard_normal(clean.shape) * np.sqrt((clean ** 2).mean(axis=(1, 2)) / 10)[:, None, None]
    score = v1.score_population(noisy, n_bootstrap=100)
    assert score.funnel["R² ≥ threshold"] == n
    assert score.n_unresolved >= 0.8 * n
    assert score.units["nx_lo_open"].sum() >= 0.8 * n
    # truly blob-like (nx, ny < 0.1): the bracket reaches them all
    assert score.blob_fraction["hi"] == 1.0


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
    nx, ny = hist.sample(300, random_state=2)
    same = ringach_findings(nx, ny)
    assert not same["more_subfields"]["holds"] and not same["more_elongated"]["holds"]
    assert not same["fewer_blobs"]["holds"]
    assert same["fewer_blobs"]["v1_fraction"] == pytest.approx(19 / 79)
    rng = np.random.default_rng(0)
    model = ringach_findings(rng.uniform(0.6, 1.2, 100), rng.uniform(0.8, 1.5, 100))
    assert all(model[f]["holds"] for f in v1.FINDINGS)
    assert model["fewer_blobs"]["fraction"] == 0.0 and model["more_subfields"]["effect"] > 0.9
    assert not any(model[f]["opposite"] for f in v1.FINDINGS)
    assert model["more_subfields"]["direction"] == "larger than V1" and model["fewer_blobs"]["direction"] == "fewer than V1"
    assert BLOB_EDGE == pytest.approx(10 ** -0.52)
    # small, round units: significantly the other way on every finding
    small = ringach_findings(rng.uniform(0.11, 0.16, 100), rng.uniform(0.11, 0.16, 100))
    assert all(small[f]["opposite"] and not small[f]["holds"] for f in v1.FINDINGS)


def test_a_bracket_concludes_only_where_both_ends_agree():
    rng = np.random.default_rng(6)
    large, small = (rng.uniform(0.6, 1.2, 80), rng.uniform(0.8, 1.5, 80)), (rng.uniform(0.11, 0.16, 80),) * 2
    v1_like = v1.ringach2002_nxny_histogram().sample(300, random_state=6)
    holds = findings_bracket(point=large, least=large, most=large)
    assert all(holds[f]["conclusion"] == "holds" for f in v1.FINDINGS)
    opposite = findings_bracket(point=small, least=small, most=small)
    assert all(opposite[f]["conclusion"] == "opposite" for f in v1.FINDINGS)
    straddles = findings_bracket(point=v1_like, least=large, most=small)
    assert all(straddles[f]["conclusion"] == "undetermined" for f in v1.FINDINGS)
    assert straddles["fewer_blobs"]["least"]["fraction"] == 0.0 and straddles["fewer_blobs"]["most"]["fraction"] == 1.0
    same = findings_bracket(point=v1_like, least=v1_like, most=v1_like)
    assert all(same[f]["conclusion"] == "does not hold" for f in v1.FINDINGS)
    assert set(same["more_subfields"]) == {"least", "most", "point", "conclusion"}


def test_extreme_distances_match_every_placement():
    # known answer: brute force over every placement of 6 units in their rectangles of bins
    q = v1.ringach2002_nxny_histogram().probabilities
    rng = np.random.default_rng(7)
    for _ in range(15):
        i0, j0 = rng.integers(0, 5, 6), rng.integers(0, 5, 6)
        i1, j1 = np.minimum(4, i0 + rng.integers(0, 3, 6)), np.minimum(4, j0 + rng.integers(0, 2, 6))
        out = extreme_distance_counts((i0, i1), (j0, j1))
        choices = [[(a, b) for a in range(i0[u], i1[u] + 1) for b in range(j0[u], j1[u] + 1)] for u in range(6)]
        distances = []
        for placement in itertools.product(*choices):
            counts = np.zeros((5, 5))
            np.add.at(counts, tuple(np.array(placement).T), 1)
            distances.append(0.5 * np.abs(counts / 6 - q).sum())
        for end, best in (("most", min(distances)), ("least", max(distances))):
            assert out[end].sum() == 6
            assert 0.5 * np.abs(out[end] / 6 - q).sum() == pytest.approx(best, abs=1e-12)


def test_permutation_floor_is_below_the_corrected_level():
    # Holm over m tests multiplies the smallest p by m: m / (B + 1) must stay below 0.05
    for m in (1, 5, 11, 25, 60):
        b = permutations_for(m)
        assert m / (b + 1) <= 0.05 / 4 < m / b
    assert permutations_for(5) == 399 and permutations_for(25) == DEFAULT_PERMUTATIONS
    # every split puts the top nx row against an empty one: p sits at the floor and reads as a bound
    rng = np.random.default_rng(1)
    out = v1.nxny_distance(rng.uniform(1.7, 3.0, 60), rng.uniform(0.5, 1.5, 60), n_bootstrap=399)
    assert out["p_value"] == out["p_floor"] == 1 / 400
    assert format_p(out["p_value"], out["p_floor"]) == "p < 1/400"
    assert format_p(0.0123, 1 / 400) == "p = 0.012" and format_p(float("nan")) == "p = –"
    with pytest.raises(InputError, match="n_tests"):
        permutations_for(0)


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
    # the same shift in every seed: no spread, so no p and no d_z (said in words by the reports)
    out = stats.paired_test([1.0, 2.0, 3.0], [1.5, 2.5, 3.5])
    assert out["difference"] == pytest.approx(-0.5) and out["constant"] and out["wins_a"] == 3
    assert math.isnan(out["p_value"]) and math.isnan(out["cohens_dz"])
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


def test_a_resample_scored_with_the_populations_own_intervals_equals_one_scored_afresh():
    from effcode.gabor import fit_gabors
    from effcode.v1.scorer import classify_units
    rng = np.random.default_rng(3)
    nx, ny = v1.ringach2002_nxny_histogram().sample(40, random_state=3)
    filters = gabor_population(nx, ny, (16, 16), seed=3, snr=3.0).astype(np.float32)
    fit = {k: np.asarray(v) for k, v in fit_gabors(filters).items()}
    compared = (fit["failed"] == 0) & (fit["r2"] >= 0.7)
    classified = classify_units(filters, fit, compared)
    i = rng.integers(0, 40, 40)
    kwargs = dict(n_bootstrap=50, n_permutations=99, random_state=1, fit={k: v[i] for k, v in fit.items()})
    fresh = v1.score_population(filters[i], population="filters", **kwargs).metrics()
    reused = v1.score_population(filters[i], population="filters", classified={k: v[i] for k, v in classified.items()},
                                 **kwargs).metrics()
    assert fresh["funnel"]["nx and ny resolved"] < fresh["funnel"]["R² ≥ threshold"]   # undetermined units enter
    assert json.dumps(fresh, sort_keys=True, default=str) == json.dumps(reused, sort_keys=True, default=str)


def test_a_bank_is_scored_on_its_measured_receptive_fields_by_default():
    """One default population: ``score_population(bank)`` measures the bank's receptive fields (Hartley, seeded
    by random_state) and scores them, exactly as scoring the measurement itself; the basis is another array."""
    bank = linear_sparse_coding_bank(orthonormal_gabors())
    by_default = v1.score_population(bank, n_bootstrap=20, n_permutations=19, random_state=4)
    measured = v1.score_population(v1.measure_receptive_fields(bank, 8, random_state=4), n_bootstrap=20,
                                   n_permutations=19, random_state=4)
    basis = v1.score_population(bank, population="basis", n_bootstrap=20, n_permutations=19, random_state=4)
    assert by_default.population == "measured_rf"
    np.testing.assert_array_equal(by_default.units["fit_r2"], measured.units["fit_r2"])
    assert not np.allclose(by_default.units["fit_sigma_x"], basis.units["fit_sigma_x"])
