"""effcode.v1: packaged reference data, Brain-Score similarity, nx-ny distance, bootstrap."""

import numpy as np
import pytest

from effcode.errors import InputError
from effcode import v1


# ------------------------------------------------------------------------ reference data


def test_nxny_histogram_matches_ringach_table():
    hist = v1.ringach2002_nxny_histogram()
    assert hist.counts.shape == (5, 5)
    assert hist.n_cells == 79
    np.testing.assert_allclose(hist.nx_edges, np.logspace(-1, 0.2, 6))
    # rows are nx bins: the third nx bin (0.30-0.52) holds 1, 2, 19, 17, 3 cells
    np.testing.assert_array_equal(hist.counts[2], [1, 2, 19, 17, 3])
    assert hist.counts[4].sum() == 0  # no cell with nx > 0.91
    assert not hist.counts.flags.writeable


def test_reference_medians_match_readme():
    hist = v1.ringach2002_nxny_histogram()
    # log-uniform interpolation inside the median bin of each marginal
    assert hist.median("nx") == pytest.approx(0.37, abs=0.01)
    assert hist.median("ny") == pytest.approx(0.45, abs=0.01)

    props = v1.ringach2002_properties()
    assert props["circular_variance"].size == 304
    assert np.median(props["circular_variance"]) == pytest.approx(0.60, abs=0.005)
    # bandwidth median over the 298 orientation-selective cells (bw <= 90 deg)
    assert np.isnan(props["orientation_bandwidth"]).sum() == 6
    assert np.nanmedian(props["orientation_bandwidth"]) == pytest.approx(23.0, abs=0.5)
    assert np.median(props["orth_pref_ratio"]) == pytest.approx(0.19, abs=0.005)


def test_orientation_db_selection():
    full = v1.ringach2002_orientation_db(selected=False)
    sel = v1.ringach2002_orientation_db()
    assert full["orivar"].size == 308
    assert sel["orivar"].size == 304
    assert np.all(sel["maxdc"] > sel["spont"] + 5)
    dropped = full["maxdc"] <= full["spont"] + 5
    assert dropped.sum() == 4


def test_histogram_median_known_answers():
    # 10 cells uniform on [0, 10): median 5, interpolated exactly
    assert v1.histogram_median([5, 5], [0, 5, 10]) == pytest.approx(5.0)
    assert v1.histogram_median([1, 2, 1], [0, 1, 2, 3]) == pytest.approx(1.5)
    # log10 scale: half the cells in [1, 100) -> the log-midpoint 10 of that bin's log range
    assert v1.histogram_median([2, 0], [1, 100, 1000], scale="log10") == pytest.approx(10.0)
    with pytest.raises(InputError, match="edges"):
        v1.histogram_median([1, 2], [0, 1])
    with pytest.raises(InputError, match="scale"):
        v1.histogram_median([1, 2], [0, 1, 2], scale="ln")


def test_histogram_references_have_published_counts():
    pref = v1.property_reference("preferred_orientation")
    np.testing.assert_array_equal(pref.counts, [110, 83, 100, 92])
    sfbw = v1.property_reference("sf_bandwidth")
    assert (sfbw.n_cells, sfbw.n_undefined) == (87, 14)
    peak = v1.property_reference("peak_sf")
    assert peak.counts.sum() == 363 and peak.scale == "log2"
    assert "Schiller" in sfbw.citation and "1976" in sfbw.citation
    with pytest.raises(InputError, match="property_name must be one of"):
        v1.property_reference("nope")


def test_to_reference_units():
    sfbw = v1.property_reference("sf_bandwidth")
    np.testing.assert_allclose(sfbw.to_reference_units([0.0, 1.0, 2.0]), [100.0, 50.0, 25.0])
    pref = v1.property_reference("preferred_orientation")
    wrapped = pref.to_reference_units([170.0, 0.0, 157.4, -30.0])
    np.testing.assert_allclose(wrapped, [-10.0, 0.0, 157.4, 150.0])
    bw = v1.property_reference("orientation_bandwidth")
    out = bw.to_reference_units([20.0, 95.0])
    assert out[0] == 20.0 and np.isnan(out[1])


# ---------------------------------------------------------------------------- similarity


def test_ks_similarity_known_values():
    q = np.array([0.25, 0.5, 0.25])
    assert v1.ks_similarity(q, q) == pytest.approx(1.0)
    # all mass in the first bin: KS = 0.75 = KS_max -> similarity 0
    assert v1.ks_similarity([1.0, 0.0, 0.0], q) == pytest.approx(0.0)
    # KS = max(|0.5 - 0.25|, |1 - 0.75|) = 0.25, KS_max = 0.75
    assert v1.ks_similarity([0.5, 0.5, 0.0], q) == pytest.approx(1 - 0.25 / 0.75)


@pytest.mark.parametrize("name, published", [("circular_variance", 0.959), ("orientation_bandwidth", 0.964)])
def test_ceiling_reproduces_published(name, published):
    assert v1.ceiling(name, random_state=0) == pytest.approx(published, abs=0.01)


def test_all_ceilings_reproduce_published():
    for name in v1.property_names():
        ref = v1.property_reference(name)
        assert v1.ceiling(name, random_state=3) == pytest.approx(ref.published_ceiling, abs=0.01), name


def test_similarity_of_v1_like_and_unlike_models():
    rng = np.random.default_rng(0)
    cv = v1.ringach2002_properties()["circular_variance"]
    # a large model population drawn from the V1 cells scores about 1 (ceiled)
    like = v1.distribution_similarity(rng.choice(cv, 5000), "circular_variance", n_bootstrap=300)
    assert like["score"] == pytest.approx(1.0, abs=0.02)
    # all model cells in the lowest CV bin: KS equals KS_max in every draw -> raw score 0
    unlike = v1.distribution_similarity(np.full(50, 0.01), "circular_variance", n_bootstrap=50)
    assert unlike["raw"] == pytest.approx(0.0, abs=1e-12)
    # a shifted distribution scores in between
    shifted = v1.distribution_similarity(np.clip(rng.choice(cv, 5000) + 0.2, 0, 1), "circular_variance",
                                         n_bootstrap=300)
    assert 0.2 < shifted["score"] < 0.9
    assert like["n_reference"] == 304 and like["published_ceiling"] == 0.959


def test_similarity_nan_handling_and_determinism():
    bw = v1.ringach2002_properties()["orientation_bandwidth"]  # 6 NaN of 304
    a = v1.distribution_similarity(bw, "orientation_bandwidth", n_bootstrap=200, random_state=5)
    b = v1.distribution_similarity(bw, "orientation_bandwidth", n_bootstrap=200, random_state=5)
    assert a["raw"] == b["raw"] and a["score"] == b["score"]
    assert a["score"] == pytest.approx(1.0, abs=0.02)
    # a model with (almost) no selective cells: most draws are empty -> raw score 0
    mostly_nan = np.full(1000, np.nan)
    mostly_nan[0] = 20.0
    assert v1.distribution_similarity(mostly_nan, "orientation_bandwidth", n_bootstrap=100)["raw"] == 0.0
    with pytest.raises(InputError, match="no defined"):
        v1.distribution_similarity([np.nan, np.nan], "circular_variance")
    with pytest.raises(InputError, match="model_values"):
        v1.distribution_similarity(np.zeros((3, 2)), "circular_variance")
    with pytest.raises(InputError, match="n_bootstrap"):
        v1.distribution_similarity([0.5], "circular_variance", n_bootstrap=0)


def test_similarity_scores_from_tuning_table():
    props = v1.ringach2002_properties()
    table = {"circular_variance": np.asarray(props["circular_variance"]),
             "ori_bandwidth_deg": np.where(np.isnan(props["orientation_bandwidth"]), 120.0,
                                           props["orientation_bandwidth"]),
             "orth_pref_ratio": np.asarray(props["orth_pref_ratio"])}
    scores = v1.similarity_scores(table, n_bootstrap=200)
    assert set(scores) == {"circular_variance", "orientation_bandwidth", "orth_pref_ratio",
                           "orientation_selective", "cv_bandwidth_ratio", "opr_cv_difference"}
    for name, result in scores.items():
        assert result["score"] == pytest.approx(1.0, abs=0.03), name
    with pytest.raises(InputError, match="peak_sf_cpd"):
        v1.model_property_values(table, ["peak_sf"])


# ------------------------------------------------------------------------------ nx-ny


def _sample_ringach(n, seed):
    """n (nx, ny) pairs drawn from the Ringach histogram, log-uniform within bins."""
    return v1.ringach2002_nxny_histogram().sample(n, random_state=seed)


def test_histogram_sample_follows_the_histogram():
    nx, ny = _sample_ringach(20000, seed=0)
    p, outside = v1.nxny_histogram(nx, ny)
    np.testing.assert_allclose(p, v1.ringach2002_nxny_histogram().probabilities, atol=0.01)
    assert outside == 0.0


@pytest.mark.parametrize("n_units", [24, 60])
def test_nxny_test_is_calibrated_on_populations_drawn_from_v1(n_units):
    # known answer: V1-like populations are rejected at the 5% level in at most 10% of 40 seeds
    rejected = [v1.nxny_distance(*_sample_ringach(n_units, seed=s), n_bootstrap=999, random_state=s)["p_value"] < 0.05
                for s in range(40)]
    assert np.mean(rejected) <= 0.10


def test_nxny_test_rejects_an_elongated_population():
    # known answer: nx in 0.3-0.6 and ny in 1.0-1.5 (long, few subfields) is rejected in >= 90% of seeds
    rejected = []
    for s in range(40):
        rng = np.random.default_rng(s)
        result = v1.nxny_distance(rng.uniform(0.3, 0.6, 24), rng.uniform(1.0, 1.5, 24), n_bootstrap=999, random_state=s)
        rejected.append(result["p_value"] < 0.05)
    assert np.mean(rejected) >= 0.90


def test_nxny_null_is_the_one_for_the_population_size():
    # the two-sample null shrinks with the model's size toward the 79-cell floor
    nulls = [v1.nxny_distance(*_sample_ringach(n, seed=1), n_bootstrap=2000)["null_95"] for n in (24, 57, 176)]
    assert nulls[0] > nulls[1] > nulls[2]
    assert nulls[0] == pytest.approx(0.40, abs=0.03) and nulls[2] == pytest.approx(0.24, abs=0.03)


def test_nxny_distance_v1_like_population_within_null():
    nx, ny = _sample_ringach(4000, seed=0)
    result = v1.nxny_distance(nx, ny, n_bootstrap=500)
    assert result["distance"] < 0.05
    assert result["distance"] < result["null_median"] < result["null_95"]
    assert result["p_value"] > 0.5
    assert result["outside_fraction"] == 0.0


def test_nxny_distance_ica_like_population_is_far():
    rng = np.random.default_rng(1)
    nx = rng.uniform(1.0, 3.0, 300)  # many subfields: nx beyond Ringach's largest bin
    ny = rng.uniform(0.5, 1.5, 300)
    result = v1.nxny_distance(nx, ny, n_bootstrap=300)
    # all mass in the (empty) top nx row: TV = 1 exactly
    assert result["distance"] == pytest.approx(1.0)
    assert result["distance"] > result["null_95"]
    assert result["p_value"] == pytest.approx(1 / 301)
    assert result["outside_fraction"] > 0.5


def test_nxny_histogram_clips_and_validates():
    p, outside = v1.nxny_histogram([0.01, 5.0], [0.2, 0.2])
    assert p[0, 1] == 0.5 and p[4, 1] == 0.5 and outside == 1.0
    with pytest.raises(InputError, match="same length"):
        v1.nxny_distance([0.3, 0.4], [0.3])
    with pytest.raises(InputError, match=">= 0"):
        v1.nxny_distance([-0.3], [0.3])
    with pytest.raises(InputError, match="NaN"):
        v1.nxny_distance([np.nan], [0.3])


# ------------------------------------------------------------------------------ medians


def test_bootstrap_median_interval_covers_truth():
    rng = np.random.default_rng(2)
    values = rng.normal(3.0, 1.0, 400)
    med, lo, hi = v1.bootstrap_median(values, n_bootstrap=500, random_state=0)
    assert med == np.median(values)
    assert lo < 3.0 < hi
    # standard error of a normal median: 1.2533 sigma / sqrt(n); 95 % width about 3.9 SE
    assert (hi - lo) == pytest.approx(3.92 * 1.2533 / np.sqrt(400), rel=0.3)
    assert v1.bootstrap_median(values, n_bootstrap=500, random_state=0) == (med, lo, hi)
    with pytest.raises(InputError, match="values"):
        v1.bootstrap_median([1.0, np.nan])


def test_extreme_counts_fall_back_to_a_valid_placement_when_the_solver_returns_none(monkeypatch):
    """Regression (experiment 07's full run crashed when HiGHS returned no solution): the greedy placement
    keeps every unit inside its rectangle and orders the two ends (nearest no farther than farthest)."""
    import scipy.optimize

    from effcode.v1.nxny import counts_distance, extreme_distance_counts

    class Failed:
        x = None

    monkeypatch.setattr(scipy.optimize, "milp", lambda *args, **kwargs: Failed())
    rng = np.random.default_rng(0)
    lo = rng.integers(0, 5, size=(2, 60))
    hi = np.minimum(lo + rng.integers(0, 3, size=(2, 60)), 4)
    out = extreme_distance_counts((lo[0], hi[0]), (lo[1], hi[1]))
    for end in ("most", "least"):
        assert out[end].sum() == 60
    near = counts_distance(out["most"], n_bootstrap=10, random_state=0)["distance"]
    far = counts_distance(out["least"], n_bootstrap=10, random_state=0)["distance"]
    assert near <= far


def test_extreme_counts_accept_rectangles_given_in_either_order():
    """A unit whose interval bins come reversed (lo bin above hi bin) still sits in a non-empty rectangle."""
    from effcode.v1.nxny import extreme_distance_counts

    out = extreme_distance_counts((np.array([3, 0]), np.array([1, 0])), (np.array([2, 1]), np.array([2, 1])))
    assert out["most"].sum() == 2 and out["least"].sum() == 2
