"""Known answers for the blob-like fraction (issue 24 item 2): populations drawn from Ringach's
histogram, every phase and orientation, at amplitude SNR 3, 5 and 10 on 12x12 and 16x16 patches.
The scorer's bracket must hold the true fraction and be narrow (the full table, with larger
populations: benchmarks/calibration_blob_fraction.py)."""

import pytest

from effcode.v1.calibration import blob_fraction_calibration


@pytest.mark.parametrize("side", [12, 16])
@pytest.mark.parametrize("amplitude_snr", [3.0, 5.0, 10.0])
def test_the_blob_like_fraction_bracket_holds_the_truth(side, amplitude_snr):
    out = blob_fraction_calibration(100, (side, side), amplitude_snr=amplitude_snr, random_state=side + int(amplitude_snr),
                                    n_bootstrap=20)
    assert out["n_compared"] >= 90
    assert out["lo"] <= out["point"] <= out["hi"]
    assert out["covered"], out
    assert abs(out["point_error"]) <= 0.05 and out["width"] <= 0.15, out
