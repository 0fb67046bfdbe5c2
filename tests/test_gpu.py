"""CPU and CUDA give the same results within float32 tolerance (skipped without CUDA; run with -m gpu)."""

import numpy as np
import pytest
import torch

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")]

SMALL = {"sparse_coding": {"n_filters": 16, "n_steps": 20}, "ica": {"n_filters": 16, "n_patches": 5000},
         "isa": {"n_filters": 16, "n_patches": 5000}, "sparse_cnn": {"n_filters": 8, "n_steps": 20},
         "sailnet": {"n_filters": 16, "n_steps": 20}}


@pytest.mark.parametrize("method", sorted(SMALL))
def test_learner_on_cuda_matches_cpu(method, small_image_folder):
    from effcode import learn_filters

    params = dict(SMALL[method])
    n_patches = params.pop("n_patches", None)
    banks = [learn_filters(method, str(small_image_folder), patch_size=8, random_state=0, device=device,
                           n_patches=n_patches, **params) for device in ("cpu", "cuda")]
    cpu, gpu = banks
    # float32 reductions run in another order on the GPU: compare filters by cosine similarity
    a, b = cpu.basis.reshape(len(cpu.basis), -1), gpu.basis.reshape(len(gpu.basis), -1)
    cosine = np.sum(a * b, 1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    assert np.median(cosine) > 0.99


def test_gabor_fit_on_cuda_matches_cpu():
    from effcode.gabor import fit_gabors
    from effcode.gabor.synthetic import synthetic_gabors

    filters = synthetic_gabors(64, (16, 16), random_state=0)[0]
    cpu, gpu = fit_gabors(filters, device="cpu"), fit_gabors(filters, device="cuda")
    assert np.allclose(cpu["r2"], gpu["r2"], atol=1e-3)
    assert np.median(np.abs(cpu["freq"] - gpu["freq"])) < 1e-3
