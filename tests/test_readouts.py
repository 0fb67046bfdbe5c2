"""The factorised readout (Klindt et al. 2017) gives eta_c = sum_{k,p} m_c[p] v_c[k] F[k, p] + b_c in either
order of its two sums: positions first when the maps have at least as many positions as channels, channels
first otherwise (the faster order on the CPU)."""

import numpy as np
import pytest
import torch

from effcode.encoding.readouts import FactorisedReadout


@pytest.mark.parametrize("channels, side", [(6, 5), (40, 3)])
def test_the_readout_is_the_bilinear_form_of_its_mask_and_feature_weights(channels, side):
    rng = np.random.default_rng(0)
    n_cells, n = 7, 11
    readout = FactorisedReadout(channels, side, side, n_cells, rng.normal(size=n_cells),
                                torch.Generator().manual_seed(0))
    assert readout.where_first == (side * side >= channels)
    maps = rng.normal(size=(n, channels, side, side))
    mask = readout.mask.detach().double().numpy()              # (cells, positions)
    features = readout.features.detach().double().numpy()      # (cells, channels)
    offset = readout.offset.detach().double().numpy()
    expected = np.einsum("nkp,cp,ck->nc", maps.reshape(n, channels, -1), mask, features) + offset
    with torch.no_grad():
        x = torch.as_tensor(maps, dtype=torch.float32)
        eta = readout(x).double().numpy()
        laid_out = readout.read(readout.layout(x)).double().numpy()
    np.testing.assert_allclose(eta, expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(laid_out, eta)


def test_the_gradient_reaches_both_factors_in_the_channels_first_order():
    readout = FactorisedReadout(40, 3, 3, 5, np.zeros(5), torch.Generator().manual_seed(1))
    assert not readout.where_first
    readout(torch.ones(2, 40, 3, 3)).sum().backward()
    assert torch.all(readout.mask.grad != 0) and torch.all(readout.features.grad != 0)
