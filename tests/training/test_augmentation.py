import torch

from forestgaps_engine.config.training import AugmentationConfig
from forestgaps_engine.training.augmentation import DsmAugmenter

NO_JITTER = {"noise_std_m": 0.0, "vertical_offset_m": 0.0, "tilt_max_slope": 0.0}


def _batch(size_px: int = 32, batch_size: int = 8):
    generator = torch.Generator().manual_seed(1)
    coarse = torch.rand(batch_size, 1, size_px // 8, size_px // 8, generator=generator) * 20
    dsm = torch.nn.functional.interpolate(coarse, size=(size_px, size_px), mode="bilinear")
    valid = torch.ones_like(dsm, dtype=torch.bool)
    valid[:, :, 4:10, 20:28] = False
    threshold_m = torch.full((batch_size,), 10.0)
    mask = (dsm <= 10.0).float() * valid
    return {"dsm": dsm, "valid": valid, "mask": mask, "threshold_m": threshold_m}


def test_flips_and_turns_move_dsm_mask_and_validity_together():
    torch.manual_seed(0)
    config = AugmentationConfig(affine_probability=0.0, **NO_JITTER)
    batch = _batch()
    out = DsmAugmenter(config)(batch)
    expected_mask = ((out["dsm"] <= 10.0) & out["valid"]).float()
    assert torch.equal(out["mask"], expected_mask)
    assert int(out["valid"].sum()) == int(batch["valid"].sum())
    assert not torch.equal(out["dsm"], batch["dsm"])  # something moved


def test_affine_keeps_geometry_shared_and_invalid_cells_invalid():
    torch.manual_seed(0)
    config = AugmentationConfig(
        affine_probability=1.0,
        affine_degrees=30,
        affine_scale=0.2,
        elastic_probability=1.0,
        **NO_JITTER,
    )
    batch = _batch()
    batch["dsm"] = torch.where(batch["valid"], batch["dsm"], torch.full_like(batch["dsm"], 1e6))
    out = DsmAugmenter(config)(batch)
    assert out["dsm"][out["valid"]].max() < 100  # the 1e6 marker never leaks into valid cells
    assert set(out["mask"].unique().tolist()) <= {0.0, 1.0}
    agree = (out["mask"] > 0.5) == (out["dsm"] <= 10.0)
    assert agree[out["valid"]].float().mean() > 0.95
    assert int(out["valid"].sum()) < int(batch["valid"].sum())  # rotation brings in empty corners


def test_offset_and_tilt_change_dsm_only_by_a_plane():
    torch.manual_seed(0)
    config = AugmentationConfig(flip=False, rot90=False, affine_probability=0.0, noise_std_m=0.0)
    batch = _batch()
    out = DsmAugmenter(config)(batch)
    assert torch.equal(out["mask"], batch["mask"])
    assert torch.equal(out["valid"], batch["valid"])
    diff = (out["dsm"] - batch["dsm"])[0, 0, 12:, :]  # rows below the invalid block
    # a plane has constant second differences of zero along both axes
    assert torch.allclose(diff[2:, :] - 2 * diff[1:-1, :] + diff[:-2, :], torch.zeros(1), atol=1e-3)
    assert torch.allclose(diff[:, 2:] - 2 * diff[:, 1:-1] + diff[:, :-2], torch.zeros(1), atol=1e-3)
    assert diff.abs().max() > 0.1


def test_disabled_returns_batch_unchanged():
    batch = _batch()
    out = DsmAugmenter(AugmentationConfig(enabled=False))(batch)
    assert out["dsm"] is batch["dsm"]
