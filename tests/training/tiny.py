"""Tiny stand-ins with the engine's contracts: a model, a normalizer and a seeded dataset."""

from __future__ import annotations

import torch
from pydantic import BaseModel
from torch import nn
from torch.utils.data import IterableDataset


class TinyParams(BaseModel):
    channels: int = 4


class TinyModel(nn.Module):
    """forward(dsm (B,1,H,W), threshold_m (B,)) -> logits (B,1,H,W); FiLM-like bias."""

    name = "tiny"

    def __init__(self, channels: int = 4) -> None:
        super().__init__()
        self.config = TinyParams(channels=channels)
        self.conv1 = nn.Conv2d(1, channels, 3, padding=1)
        self.norm = nn.BatchNorm2d(channels)
        self.film = nn.Linear(1, channels)
        self.drop = nn.Dropout2d(0.1)
        self.head = nn.Conv2d(channels, 1, 1)

    def forward(self, dsm: torch.Tensor, threshold_m: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.norm(self.conv1(dsm)))
        x = x + self.film(threshold_m.view(-1, 1) / 10.0).view(-1, x.shape[1], 1, 1)
        return self.head(self.drop(x))


class ScaleNormalizer(nn.Module):
    """(dsm - 10) / 10 on valid cells, 0 elsewhere."""

    def forward(self, dsm: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        return torch.where(valid, (dsm - 10.0) / 10.0, torch.zeros_like(dsm))

    def to_dict(self) -> dict:
        return {"strategy": "test_scale"}


class RandomGapDataset(IterableDataset):
    """Seeded samples whose gap mask is ``dsm <= threshold``; split across DDP ranks."""

    def __init__(
        self,
        n_samples: int = 16,
        size_px: int = 16,
        seed: int = 0,
        thresholds_m: tuple[float, ...] = (2.0, 5.0),
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        self.n_samples = n_samples
        self.size_px = size_px
        self.seed = seed
        self.thresholds_m = thresholds_m
        self.rank = rank
        self.world_size = world_size
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.n_samples // self.world_size

    def __iter__(self):
        generator = torch.Generator().manual_seed(self.seed * 1000 + self.epoch)
        order = torch.randperm(self.n_samples, generator=generator).tolist()
        for index in order[self.rank :: self.world_size][: len(self)]:
            sample_gen = torch.Generator().manual_seed(self.seed * 100003 + index)
            dsm = torch.rand(1, self.size_px, self.size_px, generator=sample_gen) * 20.0
            valid = torch.ones(1, self.size_px, self.size_px, dtype=torch.bool)
            valid[:, :2, :3] = False
            threshold_m = torch.tensor(self.thresholds_m[index % len(self.thresholds_m)])
            yield {
                "dsm": dsm,
                "valid": valid,
                "threshold_m": threshold_m,
                "mask": (dsm <= threshold_m).float(),
            }
