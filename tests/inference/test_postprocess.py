"""Cut, minimum area, clean-up and per-gap DSM statistics on a hand-made raster."""

from __future__ import annotations

import numpy as np
import rasterio

from forestgaps_engine.geo.raster_io import PROBABILITY_PROFILE, grid_of, write_array
from forestgaps_engine.inference.postprocess import gap_statistics, label_probabilities
from tests.inference.helpers import write_dsm


def test_labels_and_statistics(tmp_path):
    probability = np.zeros((40, 40), dtype=np.float32)
    probability[2:6, 2:6] = 0.9  # 16 m2 gap
    probability[20:22, 20:22] = 0.7  # 4 m2 gap
    probability[30, 30] = 0.95  # 1 m2: below min area
    probability[10:12, 30:32] = 0.4  # below the cut-off
    probability[39, :] = np.nan
    dsm_values = np.full((40, 40), 220.0, dtype=np.float32)
    dsm_values[2:6, 2:6] = np.arange(16, dtype=np.float32).reshape(4, 4) + 200
    dsm_path = write_dsm(tmp_path / "dsm.tif", dsm_values)
    with rasterio.open(dsm_path) as dsm:
        grid = grid_of(dsm)
    write_array(tmp_path / "p.tif", probability, grid, PROBABILITY_PROFILE)
    with rasterio.open(tmp_path / "p.tif") as source:
        labels = label_probabilities(source, grid, 0.5, 4.0)
    assert labels.n_gaps == 2
    assert labels.mask()[39].tolist() == [255] * 40
    assert labels.mask()[30, 30] == 0 and labels.mask()[3, 3] == 1
    with rasterio.open(dsm_path) as dsm:
        stats = gap_statistics(labels, dsm)
    assert stats.area_m2.tolist() == [16.0, 4.0]
    assert stats.dsm_min_m[0] == 200 and stats.dsm_max_m[0] == 215
    assert stats.dsm_mean_m[0] == np.mean(np.arange(16) + 200)
    assert stats.dsm_mean_m[1] == 220
    with rasterio.open(tmp_path / "p.tif") as source:
        cleaned = label_probabilities(source, grid, 0.5, 0.0, cleanup_radius_px=1)
    assert cleaned.mask()[30, 30] == 0  # opening removes the lone cell
    assert cleaned.n_gaps == 1  # the 2 x 2 gap cannot hold the radius-1 disk either
