import numpy as np
import pytest
import torch

from forestgaps_engine.metrics.pixel import (
    ConfusionCounts,
    confusion_counts,
    confusion_counts_by_threshold,
    merge_counts,
    summarize,
)


def test_counts_ignore_invalid_cells_and_agree_between_numpy_and_torch():
    predicted = np.array([[1, 1, 0, 0, 1]], bool)
    target = np.array([[1, 0, 1, 0, 1]], bool)
    valid = np.array([[1, 1, 1, 1, 0]], bool)
    counts = confusion_counts(predicted, target, valid)
    assert counts == ConfusionCounts(tp=1, fp=1, fn=1, tn=1)
    as_torch = confusion_counts(
        torch.from_numpy(predicted), torch.from_numpy(target).float(), torch.from_numpy(valid)
    )
    assert as_torch == counts
    assert counts.iou == pytest.approx(1 / 3)
    assert counts.f1 == pytest.approx(0.5)
    assert counts.precision == counts.recall == counts.accuracy == pytest.approx(0.5)


def test_empty_target_and_prediction_score_one():
    empty = ConfusionCounts(tn=10)
    assert empty.iou == empty.f1 == empty.precision == empty.recall == 1.0


def test_per_threshold_split_merge_and_summary():
    predicted = torch.tensor([[1, 0], [1, 1], [0, 0]], dtype=torch.bool)
    target = torch.tensor([[1, 0], [0, 1], [0, 1]], dtype=torch.float32)
    valid = torch.ones(3, 2, dtype=torch.bool)
    by_threshold = confusion_counts_by_threshold(
        predicted, target, valid, torch.tensor([2.0, 5.0, 2.0])
    )
    assert by_threshold[2.0] == ConfusionCounts(tp=1, fp=0, fn=1, tn=2)
    assert by_threshold[5.0] == ConfusionCounts(tp=1, fp=1, fn=0, tn=0)
    twice = merge_counts([by_threshold, by_threshold])
    assert twice[5.0].tp == 2
    metrics = summarize(by_threshold, prefix="val_")
    assert metrics["val_iou_t2"] == pytest.approx(0.5)
    assert metrics["val_iou_t5"] == pytest.approx(0.5)
    assert metrics["val_iou"] == pytest.approx(2 / 4)  # pooled: tp 2, fp 1, fn 1
    assert metrics["val_mean_iou"] == pytest.approx(0.5)
