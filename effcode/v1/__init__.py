"""Published V1 receptive-field statistics and metrics comparing model filters with them.

Reference data (packaged, cited in ``effcode/v1/data/README.md`` and ``docs/v1.md``):

* :func:`ringach2002_nxny_histogram` - Ringach (2002, J Neurophysiol) (nx, ny) histogram;
* :func:`ringach2002_orientation_db` - Ringach, Shapley & Hawken (2002) 308-cell database;
* :func:`property_reference` - every V1 property histogram of the Brain-Score benchmarks
  (Ringach 2002, De Valois 1982a/b, Schiller 1976), with bins and published ceilings.

Metrics: :func:`distribution_similarity` / :func:`ceiling` (Brain-Score KS similarity),
:func:`similarity_scores` (all properties of a tuning table), :func:`nxny_distance`
(2-D total variation with a calibrated two-sample permutation test), :func:`bootstrap_median`.

Filter banks from outside effcode (arrays, ``.npy`` / ``.npz`` files, PyTorch checkpoints and state dicts):
:func:`load_filter_bank`, which :func:`score_population` also applies to what it is given.

The one scorer: :func:`score_population` fits, selects (with a funnel a reader can audit) and
compares a population with V1; every experiment, sweep and report table goes through it.
Literature tests: :func:`ringach_findings`, bracketed by :func:`findings_bracket`; permutation
floors: :func:`permutations_for`, :func:`format_p`.  In-silico physiology: :func:`measure_receptive_fields`
measures every model unit's receptive field in stimulus space by reverse correlation, as V1's were.
"""

from .bank_file import load_filter_bank
from .findings import CONCLUSIONS, FINDINGS, findings_bracket, ringach_findings
from .nxny import nxny_counts, nxny_distance, nxny_histogram
from .physiology import ReceptiveFields, measure_receptive_fields
from .reference import (NxNyHistogram, PropertyReference, citation, histogram_median, property_names,
                        property_reference, ringach2002_nxny_histogram, ringach2002_orientation_db,
                        ringach2002_properties)
from .similarity import (TABLE_COLUMNS, ceiling, distribution_similarity, ks_similarity,
                         model_property_values, similarity_scores)
from .scorer import DEFAULT_PERMUTATIONS, EXCLUDED_FROM_MEAN, STAGES, V1PopulationScore, score_population
from .stats import bootstrap_median, format_p, permutations_for

__all__ = [
    "CONCLUSIONS", "DEFAULT_PERMUTATIONS", "load_filter_bank", "EXCLUDED_FROM_MEAN", "FINDINGS", "findings_bracket", "format_p",
    "permutations_for", "V1PopulationScore", "ReceptiveFields", "measure_receptive_fields",
    "STAGES", "nxny_counts", "ringach_findings",
    "score_population", "NxNyHistogram", "PropertyReference", "TABLE_COLUMNS", "bootstrap_median", "ceiling", "citation",
    "distribution_similarity", "histogram_median", "ks_similarity", "model_property_values",
    "nxny_distance", "nxny_histogram", "property_names", "property_reference",
    "ringach2002_nxny_histogram", "ringach2002_orientation_db", "ringach2002_properties",
    "similarity_scores",
]
