"""effcode.stats: paired tests over seeds report d_z with its exact interval, and a difference without
spread in words (issue 24, item 4)."""

import math

import numpy as np
import pytest
from scipy import stats as st

from effcode.errors import InputError
from effcode.stats import dz_interval, paired_test


@pytest.mark.parametrize("n, delta", [(3, 1.5), (5, 0.8), (10, 0.0)])
def test_the_dz_interval_covers_the_true_effect_in_95_percent_of_normal_samples(n, delta):
    rng = np.random.default_rng([24, n])
    draws, covered = 400, 0
    for _ in range(draws):
        d = delta * 0.02 + 0.02 * rng.standard_normal(n)         # differences of SD 0.02, true d_z = delta
        test = paired_test(0.5 + d, np.full(n, 0.5))
        covered += test["dz_lo"] <= delta <= test["dz_hi"]
    # binomial SD of the coverage over 400 draws is 0.011: 0.92-0.98 is nearly 3 SD either side of 0.95
    assert 0.92 <= covered / draws <= 0.98


def test_the_dz_interval_inverts_the_noncentral_t():
    n, dz = 4, 1.3
    lo, hi = dz_interval(dz, n)
    t = dz * math.sqrt(n)
    assert st.nct.cdf(t, n - 1, lo * math.sqrt(n)) == pytest.approx(0.975, abs=1e-8)
    assert st.nct.cdf(t, n - 1, hi * math.sqrt(n)) == pytest.approx(0.025, abs=1e-8)
    assert dz_interval(0.0, 10) == pytest.approx((-dz_interval(0.0, 10)[1], dz_interval(0.0, 10)[1]))
    assert dz_interval(-dz, n) == pytest.approx((-hi, -lo))


def test_three_near_replicate_seeds_give_a_huge_dz_with_an_interval_to_match():
    # issue 24: d_z = 59 from 3 seeds; the interval shows how little 2 degrees of freedom pin it down
    lo, hi = dz_interval(59.3, 3)
    assert 9.0 < lo < 10.0 and 110.0 < hi < 118.0


def test_paired_test_matches_the_paired_t_test():
    a, b = [0.31, 0.35, 0.30, 0.40], [0.28, 0.30, 0.31, 0.33]
    test = paired_test(a, b)
    d = np.subtract(a, b)
    assert test["difference"] == pytest.approx(d.mean())
    assert test["p_value"] == pytest.approx(st.ttest_rel(a, b).pvalue)
    assert test["cohens_dz"] == pytest.approx(d.mean() / d.std(ddof=1))
    assert test["dz_lo"] < test["cohens_dz"] < test["dz_hi"] and not test["constant"]
    assert test["wins_a"] == 1 and test["n"] == 4


@pytest.mark.parametrize("a, b, difference", [([0.35, 0.36, 0.37], [0.30, 0.31, 0.32], 0.05),   # rounding in a − b
                                              ([0.2, 0.4, 0.6], [0.2, 0.4, 0.6], 0.0)])
def test_a_difference_without_spread_has_no_p_value_and_no_dz(a, b, difference):
    test = paired_test(a, b)
    assert test["constant"] and test["difference"] == pytest.approx(difference)
    assert all(math.isnan(test[k]) for k in ("p_value", "cohens_dz", "dz_lo", "dz_hi"))


def test_one_pair_gives_no_test_and_bad_input_is_refused():
    one = paired_test([0.9], [0.1])
    assert one["n"] == 1 and math.isnan(one["p_value"]) and not one["constant"]
    with pytest.raises(InputError, match="pair up"):
        paired_test([0.1, 0.2], [0.1])
    with pytest.raises(InputError, match="finite"):
        paired_test([0.1, math.nan], [0.1, 0.2])
    with pytest.raises(InputError, match="n must be"):
        dz_interval(1.0, 1)
    with pytest.raises(InputError, match="dz must be a finite"):
        dz_interval(math.inf, 3)


def test_dz_interval_is_nan_where_scipy_cannot_evaluate_the_noncentral_t(monkeypatch):
    """Regression (experiment 04 at quick settings crashed): a NaN from scipy's noncentral t CDF inside the
    bracket gives an interval of NaN (worded as missing), not an exception."""
    import math

    from scipy import stats as st

    from effcode import stats

    monkeypatch.setattr(st.nct, "cdf", lambda t, df, ncp: math.nan if -9 < ncp < -8 else 0.5 - math.tanh(ncp - t) / 2)
    lo, hi = stats.dz_interval(-5.0, 3)
    assert math.isnan(lo) or math.isnan(hi)
