"""The PNG quick-look: size, colours, nodata."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from forestgaps_engine.synth.quicklook import MASK_COLOURS_RGB, NODATA_RGB, save_quicklook


def test_writes_a_valid_png_of_the_raster_size(tmp_path):
    rows, cols = np.mgrid[0:40, 0:60].astype(np.float32)
    dsm = 100.0 + 0.5 * rows + 5.0 * np.sin(cols / 4.0)
    valid = np.ones(dsm.shape, dtype=bool)
    valid[:5, :5] = False
    dsm[~valid] = np.nan
    small = np.zeros(dsm.shape, dtype=bool)
    small[20:24, 30:34] = True
    large = np.zeros(dsm.shape, dtype=bool)
    large[18:30, 28:40] = True
    path = save_quicklook(tmp_path / "look.png", dsm, {"2 m": small, "10 m": large}, valid)
    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert image.size == (60, 40)
        pixels = np.asarray(image.convert("RGB"))
    assert tuple(pixels[0, 0]) == NODATA_RGB
    # The smaller mask is drawn on top of the larger one, in its own colour.
    inside_small = pixels[21, 31].astype(int)
    only_large = pixels[28, 38].astype(int)
    assert np.argmax(inside_small) == int(np.argmax(MASK_COLOURS_RGB[0]))
    assert np.argmax(only_large) == int(np.argmax(MASK_COLOURS_RGB[1]))
    assert not list(tmp_path.glob(".*partial*"))


def test_without_masks_and_with_wrong_mask_shape(tmp_path):
    dsm = np.random.default_rng(0).normal(300.0, 5.0, (16, 16)).astype(np.float32)
    valid = np.ones(dsm.shape, dtype=bool)
    path = save_quicklook(tmp_path / "plain.png", dsm, None, valid)
    with Image.open(path) as image:
        assert image.size == (16, 16)
    with pytest.raises(ValueError, match="mask"):
        save_quicklook(tmp_path / "bad.png", dsm, {"x": np.zeros((8, 8), bool)}, valid)
    assert not (tmp_path / "bad.png").exists()
