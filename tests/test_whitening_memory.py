"""Whitening large images (issue 14, item 8): the result equals the mirrored-FFT definition, and the
peak memory grows linearly with the pixel count at few enough bytes per pixel that an 8000 x 8000
image whitens in under 4 GB.

Peaks are measured in a fresh Python process: the kernel's peak resident set size (VmHWM) is reset
just before the call (``/proc/self/clear_refs``), or, where that is not possible, the growth of
``resource.getrusage(RUSAGE_SELF).ru_maxrss`` over its value before the call.
"""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from effcode.data import olshausen_field_filter, whiten_images, whiten_olshausen_field

#: the 8000 x 8000 budget of the issue: 4 GB over 64 million pixels
BUDGET_BYTES, BIG_PIXELS = 4e9, 8000 * 8000
#: the whitening calls measured: keyword arguments of whiten_olshausen_field, or "images" for the whole
#: whiten_images pipeline with log luminance
MODES = {"symmetric": "whiten_olshausen_field(image, pad='symmetric')",
         "periodic": "whiten_olshausen_field(image, pad='periodic')",
         "images": "whiten_images([image], log=True)"}

MEASURE = textwrap.dedent("""
    import json, resource, sys
    import numpy as np
    from effcode.data import whiten_images, whiten_olshausen_field

    def peak_kib():
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM"))

    def reset_peak():
        try:
            with open("/proc/self/clear_refs", "w") as handle:
                handle.write("5")
            return True
        except OSError:
            return False

    side, call = int(sys.argv[1]), sys.argv[2]
    image = np.random.default_rng(0).uniform(0.1, 1.0, (32, 32))
    eval(call)                                   # warm-up: imports and FFT plans of the library
    image = np.random.default_rng(0).uniform(0.1, 1.0, (side, side))
    if reset_peak():
        baseline = peak_kib()
        result = eval(call)
        peak = peak_kib()
    else:
        baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        result = eval(call)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"extra_bytes": (peak - baseline) * 1024, "peak_bytes": peak * 1024}))
""")


def measure_peak(side: int, mode: str) -> dict:
    """Peak resident memory of whitening one side x side image in a fresh process: ``extra_bytes``
    beyond what the process held before the call (the input image included), ``peak_bytes`` in all."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", MEASURE, str(side), MODES[mode]], capture_output=True,
                          text=True, env=env, timeout=300, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def mirrored_fft_reference(image, f0=0.4, pad="symmetric"):
    """The definition, in float64: mirror the mean-subtracted image into (2H, 2W) (symmetric), multiply
    its FFT by R(f) on that grid, invert, crop the original region back."""
    rows, cols = image.shape
    centred = image - image.mean()
    if pad == "symmetric":
        top = np.concatenate([centred, centred[:, ::-1]], axis=1)
        centred = np.concatenate([top, top[::-1, :]], axis=0)
    return np.real(np.fft.ifft2(np.fft.fft2(centred) * olshausen_field_filter(centred.shape, f0)))[:rows, :cols]


@pytest.mark.parametrize("pad", ["symmetric", "periodic"])
@pytest.mark.parametrize("shape", [(1, 1), (2, 3), (37, 37), (64, 50), (99, 151)])
def test_whitening_equals_the_mirrored_fft_definition(shape, pad):
    image = np.random.default_rng(sum(shape)).uniform(0.0, 4.0, shape) + 3.0
    for f0 in (0.4, 0.15):
        out = whiten_olshausen_field(image, f0=f0, pad=pad)
        reference = mirrored_fft_reference(image, f0, pad)
        assert out.dtype == np.float64 and out.shape == shape
        # stated tolerance: 1e-12 of the largest output value (rounding of float64 transforms)
        np.testing.assert_allclose(out, reference, rtol=0, atol=1e-12 * max(1.0, np.abs(reference).max()))


def test_filter_is_applied_block_by_block_on_tall_and_wide_images(monkeypatch):
    import effcode.data.preprocess as preprocess

    image = np.random.default_rng(3).standard_normal((40, 70))
    whole = whiten_olshausen_field(image)
    monkeypatch.setattr(preprocess, "_FILTER_BLOCK_VALUES", 100)  # 1 row of 70 values per block
    np.testing.assert_array_equal(whiten_olshausen_field(image), whole)
    np.testing.assert_allclose(whiten_olshausen_field(image, pad="periodic"),
                               mirrored_fft_reference(image, pad="periodic"), rtol=0, atol=1e-12)


def test_whiten_images_leaves_the_callers_array_alone():
    image = np.random.default_rng(4).uniform(0.1, 1.0, (30, 40))
    before = image.copy()
    for method in ("none", "olshausen_field"):
        out = whiten_images([image], method=method)[0]
        np.testing.assert_array_equal(image, before)
        assert out.mean() == pytest.approx(0.0, abs=1e-12) and out.std() == pytest.approx(1.0)


@pytest.mark.parametrize("mode", list(MODES))
def test_whitening_peak_memory_is_linear_in_pixels_and_fits_8000_squared_in_4_gb(mode):
    small, large = (measure_peak(side, mode)["extra_bytes"] for side in (1000, 2000))
    ratio = large / small
    assert 3.2 <= ratio <= 4.8, f"{mode}: peak {small / 1e6:.1f} MB at 1000², {large / 1e6:.1f} MB at 2000²"
    bytes_per_pixel = large / 2000 ** 2
    assert bytes_per_pixel * BIG_PIXELS < BUDGET_BYTES, f"{mode}: {bytes_per_pixel:.1f} bytes per pixel"


@pytest.mark.slow
@pytest.mark.parametrize("mode", list(MODES))
def test_whitening_an_8000_by_8000_image_peaks_under_4_gb(mode):
    assert measure_peak(8000, mode)["peak_bytes"] < BUDGET_BYTES
