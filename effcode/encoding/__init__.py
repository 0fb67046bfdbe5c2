"""Encoding models of simulated V1 neurons, and tests of their mechanisms.

* :mod:`.population`: :func:`fit_encoding_model`, population encoding models of recorded (or
  simulated) cells behind the registry ``ENCODING_MODELS`` (``glm``, ``cnn``, ``efficient``);
  :mod:`.noise` (Poisson and Gaussian likelihoods), :mod:`.readouts` (the factorised readout and
  the CNN), :mod:`.frontends` (the learned filter bank front end);
* :mod:`.mechanism`: :func:`phase_invariance`, the phase-manipulation test of any fitted model;
* :mod:`.datasets`: recordings to fit them to (``DATASETS``: ``antolik2016``; a user's npz or folder);
* :mod:`.simulation`: ``antolik2016_sim``, simulated recordings of Antolík et al. (2016)'s shapes with a
  calcium-like noise model and known ground truth (:func:`simulate_antolik2016`);
* :mod:`.neurons`: ground-truth LN simple cells and energy-model complex cells (Poisson spikes);
* :mod:`.models`: a Poisson GLM and a small Poisson CNN of one cell, fitted by maximum likelihood;
* :mod:`.metrics`: held-out correlation, bits per spike and the fraction of explainable variance;
* :mod:`.stimuli`: amplitude-preserving phase manipulations, gratings, natural-image stimuli;
* :mod:`.architecture`: equivariance, pooling, weight sharing, receptive fields, conv gradients;
* :mod:`.decoding`: a Bayes decoder of orientation built from the encoder and a prior;
* :mod:`.identifiability`: permutation/rescaling symmetries and filter matching.

See ``docs/encoding.md`` and ``docs/mechanisms.md``.
"""

from .architecture import (LocallyConnected2d, conv_stack, conv_weight_gradient, equivariance_error,
                           input_gradient_map, invariance_error, parameter_count, receptive_field_widths,
                           theoretical_receptive_field, translate)
from .datasets import (ANTOLIK2016_SHA256, ANTOLIK2016_SHAPES, DATASETS, USER_LAYOUT, Recordings, check_antolik2016_layout,
                       fetch_antolik2016, load_antolik2016,
                       load_recordings, load_user_recordings)
from .decoding import (circular_mean_orientation, log_likelihood, orientation_error, orientation_population,
                       population_rates, posterior, von_mises_prior)
from .identifiability import match_filters, permute_hidden, rescale_hidden
from .metrics import (bits_per_spike, bits_per_spike_per_cell, correlation_per_cell, feve_per_cell, fev_from_repeats,
                      filter_r2, fraction_explainable_variance, fraction_of_oracle_per_cell,
                      gaussian_log_likelihood_gain_per_cell, oracle_correlation_per_cell, poisson_log_likelihood,
                      single_trial_correlation_per_cell)
from .mechanism import MANIPULATIONS, invariance_index, phase_invariance
from .noise import NOISE_MODELS
from .population import (ENCODING_MODELS, EfficientModel, EncodingModel, PopulationCNN, PopulationGLM,
                         EncodingScores, fit_encoding_model, load_encoding_model, load_encoding_model_file,
                         mean_correlation_scorer)
from .models import PoissonCNN, PoissonGLM, select_glm
from .simulation import REGION_SHAPES, SimulatedRegion, calcium_like, simulate_antolik2016
from .neurons import ComplexCell, SimpleCell, SimulatedNeuron, complex_gabor, gabor, make_complex_cell, make_simple_cell
from .stimuli import (direction_sign, gratings, local_phase_shift, natural_patches, phase_scramble,
                      preferred_grating)

__all__ = [
    "ANTOLIK2016_SHA256", "ANTOLIK2016_SHAPES", "check_antolik2016_layout", "DATASETS", "USER_LAYOUT", "Recordings", "fetch_antolik2016", "load_antolik2016",
    "load_recordings", "load_user_recordings",
    "MANIPULATIONS", "invariance_index", "phase_invariance",
    "NOISE_MODELS", "ENCODING_MODELS", "EfficientModel", "EncodingModel", "PopulationCNN", "PopulationGLM",
    "EncodingScores", "fit_encoding_model", "load_encoding_model", "load_encoding_model_file",
    "mean_correlation_scorer",
    "bits_per_spike_per_cell", "correlation_per_cell", "feve_per_cell", "fraction_of_oracle_per_cell",
    "gaussian_log_likelihood_gain_per_cell", "oracle_correlation_per_cell", "single_trial_correlation_per_cell",
    "REGION_SHAPES", "SimulatedRegion", "calcium_like", "simulate_antolik2016",
    "LocallyConnected2d", "conv_stack", "conv_weight_gradient", "equivariance_error", "input_gradient_map",
    "invariance_error", "parameter_count", "receptive_field_widths", "theoretical_receptive_field", "translate",
    "circular_mean_orientation", "log_likelihood", "orientation_error", "orientation_population",
    "population_rates", "posterior", "von_mises_prior",
    "match_filters", "permute_hidden", "rescale_hidden",
    "bits_per_spike", "fev_from_repeats", "filter_r2", "fraction_explainable_variance", "poisson_log_likelihood",
    "PoissonCNN", "PoissonGLM", "select_glm",
    "ComplexCell", "SimpleCell", "SimulatedNeuron", "complex_gabor", "gabor", "make_complex_cell",
    "make_simple_cell",
    "direction_sign", "gratings", "local_phase_shift", "natural_patches", "phase_scramble", "preferred_grating",
]
