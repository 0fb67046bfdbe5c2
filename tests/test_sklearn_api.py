"""scikit-learn's estimator checks on the patch learners, with every expected failure documented.

The learners validate input with effcode's own one-line ``InputError`` messages (which name the
input and what was expected) instead of scikit-learn's wording, and compute in float32 torch;
the checks below fail for those reasons only. SparseCNN fits stacks of images (n, H, W), not
(n_samples, n_features) tables, so scikit-learn's 2-D checks do not apply to it.

ISA is checked twice: with one unit per subspace, where it fails only where ICA does; and with
pairs, where several checks also set ``n_components=1``, which ISA refuses with a clear error
because a subspace of two units cannot be built from one.
"""

import warnings

import pytest
from sklearn.utils.estimator_checks import check_estimator

from effcode.learners.ica import ICA
from effcode.learners.isa import ISA
from effcode.learners.sailnet import SAILnet
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
ICA_LIKE = {**OWN_MESSAGES, "check_fit2d_1sample": "one sample gets effcode's own 'too few samples' message"}
ONE_UNIT = "the check sets n_components=1, which ISA refuses when subspace_size=2 (a pair needs two units)"
EXPECTED = {
    SparseCoding: {**OWN_MESSAGES,
                   "check_transformer_preserve_dtypes": "codes are computed and returned in float32 (torch)"},
    SAILnet: {**OWN_MESSAGES,
              "check_transformer_preserve_dtypes": "spike counts are computed and returned in float32 (torch)"},
    ICA: ICA_LIKE,
    "ISA-1": ICA_LIKE,
    "ISA-2": {**ICA_LIKE, **{check: ONE_UNIT for check in (
        "check_dont_overwrite_parameters", "check_methods_sample_order_invariance", "check_methods_subset_invariance",
        "check_fit2d_1feature")}},
}
ESTIMATORS = {
    SparseCoding: lambda: SparseCoding(n_components=3, n_steps=5, batch_size=16),
    SAILnet: lambda: SAILnet(n_components=3, n_steps=5, batch_size=16),
    ICA: lambda: ICA(n_components=2),
    "ISA-1": lambda: ISA(n_components=2, subspace_size=1),
    "ISA-2": lambda: ISA(n_components=2, subspace_size=2),
}


@pytest.mark.parametrize("key", list(ESTIMATORS), ids=lambda k: k if isinstance(k, str) else k.__name__)
def test_scikit_learn_checks_pass_except_documented_ones(key):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(ESTIMATORS[key](), on_fail=None)
    failed = {r["check_name"] for r in results if r["status"] == "failed"}
    assert failed <= set(EXPECTED[key]), f"undocumented failures: {sorted(failed - set(EXPECTED[key]))}"
    passed = [r for r in results if r["status"] == "passed"]
    assert len(passed) >= 30
