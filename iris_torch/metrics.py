"""Classification metrics a user expects beside accuracy: confusion matrix, precision, recall."""

from collections.abc import Sequence

import torch


def confusion_matrix(y: torch.Tensor, predicted: torch.Tensor, n_classes: int) -> torch.Tensor:
    """(k, k) int64 counts: entry [i, j] is the number of rows of class i predicted as j."""
    pairs = y.cpu() * n_classes + predicted.cpu()
    return torch.bincount(pairs, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def per_class(confusion: torch.Tensor, class_names: Sequence) -> list[dict]:
    """Precision, recall and support of each class, from a confusion matrix.

    Precision is undefined (None) for a class that was never predicted, and recall for a class
    with no rows: 0 / 0 is not a score, and reporting 0 would blame the model for it.
    """
    correct = confusion.diagonal().tolist()
    predicted = confusion.sum(dim=0).tolist()
    actual = confusion.sum(dim=1).tolist()
    return [
        {
            "class": name,
            "precision": hit / n_predicted if n_predicted else None,
            "recall": hit / n_actual if n_actual else None,
            "support": n_actual,
        }
        for name, hit, n_predicted, n_actual in zip(
            class_names, correct, predicted, actual, strict=True
        )
    ]
