"""scikit-learn's estimator checks on the patch learners, with every expected failure documented.

The learners validate input with effcode's own one-line ``InputError`` messages (which name the
input and what was expected) instead of scikit-learn's wording, and compute in float32 torch;
the checks below fail for those reasons only. SparseCNN fits stacks of images (n, H, W), not
(n_samples, n_features) tables, so scikit-learn's 2-D checks do not apply to it. ISA (an extra learner, used by experiment 09)
is not checked here yet: it also fails check_dont_overwrite_parameters, check_fit2d_1feature and
the sample-order/subset invariance checks, which need work.
"""

import warnings

import pytest
from sklearn.utils.estimator_checks import check_estimator

from effcode.learners.ica import ICA
from effcode.learners.sparse_coding import SparseCoding

OWN_MESSAGES = {
    "check_dtype_object": "object arrays are refused with 'X must be a numeric array', not converted",
    "check_complex_data": "complex input is refused by effcode's own validation, with its own message",
    "check_estimators_empty_data_messages": "empty input gets effcode's 'X must hold at least 1 value(s)' message",
    "check_estimator_sparse_tag": "sparse matrices are refused by effcode's validation (dense patches only)",
    "check_estimator_sparse_array": "sparse input is refused with effcode's message, not scikit-learn's wording",
    "check_estimator_sparse_matrix": "sparse input is refused with effcode's message, not scikit-learn's wording",
    "check_fit2d_predict1d": "a 1-D X gets 'X must be a 2-D array', not 'Reshape your data'",
    "check_n_features_in_after_fitting": "transform checks the feature count with effcode's own message",
}
EXPECTED = {
    SparseCoding: {**OWN_MESSAGES,
                   "check_transformer_preserve_dtypes": "codes are computed and returned in float32 (torch)"},
    ICA: {**OWN_MESSAGES, "check_fit2d_1sample": "one sample gets effcode's own 'too few samples' message"},
}
SMALL = {SparseCoding: {"n_components": 3, "n_steps": 5, "batch_size": 16}, ICA: {"n_components": 2}}


@pytest.mark.parametrize("cls", [SparseCoding, ICA], ids=lambda c: c.__name__)
def test_scikit_learn_checks_pass_except_documented_ones(cls):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(cls(**SMALL[cls]), on_fail=None)
    failed = {r["check_name"] for r in results if r["status"] == "failed"}
    assert failed <= set(EXPECTED[cls]), f"undocumented failures: {sorted(failed - set(EXPECTED[cls]))}"
    passed = [r for r in results if r["status"] == "passed"]
    assert len(passed) >= 30
