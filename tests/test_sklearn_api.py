"""scikit-learn's estimator checks on the patch learners, with every expected failure documented.

Every learner passes every check scikit-learn applies to it, except four for ISA with subspaces of
two units: those checks set ``n_components=1``, and one unit cannot make a subspace of two, which
ISA refuses with a one-line error.  SparseCNN fits stacks of images (n, H, W), not
(n_samples, n_features) tables, so scikit-learn's 2-D checks do not apply to it
(tests/test_sklearn_conventions.py checks its ``score``, feature names and ``random_state``).
"""

import warnings

import pytest
from sklearn.utils.estimator_checks import check_estimator

from effcode.learners.ica import ICA
from effcode.learners.isa import ISA
from effcode.learners.sailnet import SAILnet
from effcode.learners.sparse_coding import SparseCoding

ONE_UNIT = "the check sets n_components=1, which ISA refuses when subspace_size=2 (a pair needs two units)"
EXPECTED = {
    "ISA-2": {check: ONE_UNIT for check in ("check_dont_overwrite_parameters", "check_methods_sample_order_invariance",
                                            "check_methods_subset_invariance", "check_fit2d_predict1d")},
}
ESTIMATORS = {
    "SparseCoding": lambda: SparseCoding(n_components=3, n_steps=5, batch_size=16),
    "SAILnet": lambda: SAILnet(n_components=3, n_steps=5, batch_size=16),
    "ICA": lambda: ICA(n_components=2),
    "ISA-1": lambda: ISA(n_components=2, subspace_size=1),
    "ISA-2": lambda: ISA(n_components=2, subspace_size=2),
}


@pytest.mark.parametrize("key", list(ESTIMATORS))
def test_scikit_learn_checks_pass_except_documented_ones(key):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(ESTIMATORS[key](), on_fail=None)
    failed = {r["check_name"] for r in results if r["status"] == "failed"}
    expected = set(EXPECTED.get(key, {}))
    assert failed == expected, f"undocumented failures: {sorted(failed - expected)}; now passing: {sorted(expected - failed)}"
    passed = [r for r in results if r["status"] == "passed"]
    assert len(passed) >= 40
