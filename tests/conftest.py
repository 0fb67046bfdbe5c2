"""Shared fixtures: small natural-image folders keep end-to-end tests fast."""

import numpy as np
import pytest
import torch


@pytest.fixture(scope="session")
def small_image_folder(tmp_path_factory):
    """Two 96x96 PNG crops of bundled scikit-image photos (camera, grass), as a folder source."""
    from skimage import data, io

    folder = tmp_path_factory.mktemp("small_images")
    io.imsave(folder / "camera.png", data.camera()[200:296, 200:296], check_contrast=False)
    io.imsave(folder / "grass.png", np.asarray(data.grass()[100:196, 100:196] * 255, dtype=np.uint8)
              if data.grass().dtype != np.uint8 else data.grass()[100:196, 100:196], check_contrast=False)
    return folder


@pytest.fixture(scope="module")
def one_torch_thread():
    """One torch thread for a module of small torch ops (avoids oversubscription on a busy machine)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
