"""Tiny models, counting backends and small DSMs (EPSG:2154) shared by the inference tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio
import torch
from affine import Affine
from torch import nn

from forestgaps_engine.models.card import LoadedModel, ModelCard
from forestgaps_engine.models.normalization import Normalizer

CRS = "EPSG:2154"
ORIGIN = (650000.0, 6860000.0)


def write_dsm(
    path: Path,
    values: np.ndarray,
    resolution_m: float = 1.0,
    crs: str | None = CRS,
    nodata: float | None = -9999.0,
    origin: tuple[float, float] = ORIGIN,
) -> Path:
    """Write ``values`` (NaN = nodata) as a float32 GeoTIFF."""
    data = values.astype(np.float32)
    if nodata is not None:
        data = np.where(np.isfinite(data), data, nodata).astype(np.float32)
    transform = Affine(resolution_m, 0, origin[0], 0, -resolution_m, origin[1])
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        height=data.shape[0],
        width=data.shape[1],
        count=1,
        dtype="float32",
        crs=crs,
        transform=transform,
        nodata=nodata,
    ) as dataset:
        dataset.write(data, 1)
    return path


def forest(size_px: int, seed: int = 0) -> np.ndarray:
    """(size, size) canopy heights: 15-25 m crowns on a 200 m plateau, with a few gaps."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:size_px, 0:size_px]
    heights = (
        20.0
        + 5.0 * np.sin(rows / 5.0) * np.cos(cols / 7.0)
        + rng.normal(0, 0.5, (size_px, size_px))
    )
    for _ in range(max(2, size_px // 24)):
        r, c = rng.integers(0, size_px, 2)
        radius = rng.integers(3, 9)
        heights[(rows - r) ** 2 + (cols - c) ** 2 <= radius**2] = rng.uniform(0.5, 4.0)
    return (200.0 + heights).astype(np.float32)


def card_for(resolution_m: float = 1.0) -> ModelCard:
    return ModelCard(
        thresholds_m=[2.0, 5.0, 10.0],
        threshold_range_m=(2.0, 20.0),
        resolution_m=resolution_m,
        tile_size_px=64,
        data_manifest_hash="test",
        metrics={"val_iou": 0.5},
    )


class CountingBackend:
    """Wraps a backend and records the shape of every call."""

    def __init__(self, inner: object) -> None:
        self.inner = inner
        self.name = inner.name
        self.device = inner.device
        self.shares_windows = getattr(inner, "shares_windows", False)
        self.calls: list[tuple[tuple[int, ...], list[float]]] = []

    def run(self, dsm_norm: np.ndarray, thresholds_m: np.ndarray) -> np.ndarray:
        self.calls.append((dsm_norm.shape, [float(t) for t in thresholds_m]))
        return self.inner.run(dsm_norm, thresholds_m)


class PointwiseNet(nn.Module):
    """Per-pixel model (1x1 convolutions): its output cannot depend on tile placement."""

    name = "pointwise_test"

    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(-4.0))
        self.offset = nn.Parameter(torch.tensor(0.2))

    def forward(self, dsm: torch.Tensor, threshold_m: torch.Tensor) -> torch.Tensor:
        return self.scale * dsm + self.offset * threshold_m[:, None, None, None]


def pointwise_model(tmp_path: Path) -> LoadedModel:
    """A LoadedModel around PointwiseNet with a global (per-pixel) normalization."""
    normalizer = Normalizer("zscore_global", {"mean_m": 205.0, "std_m": 10.0}).eval()
    card = card_for().model_copy(
        update={"architecture": "pointwise_test", "model_id": "pointwise0000"}
    )
    return LoadedModel(model=PointwiseNet().eval(), normalizer=normalizer, card=card, path=tmp_path)
