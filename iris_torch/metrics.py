"""Classification metrics a user expects beside accuracy: confusion matrix, precision, recall, F1,
and their macro and support-weighted averages over the classes."""

from collections.abc import Sequence

import torch

SCORES = ("precision", "recall", "f1")


def confusion_matrix(y: torch.Tensor, predicted: torch.Tensor, n_classes: int) -> torch.Tensor:
    """(k, k) int64 counts: entry [i, j] is the number of rows of class i predicted as j."""
    pairs = y.cpu() * n_classes + predicted.cpu()
    return torch.bincount(pairs, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def per_class(confusion: torch.Tensor, class_names: Sequence) -> list[dict]:
    """Precision, recall, F1 and support of each class, from a (k, k) confusion matrix.

    Precision is undefined (None) for a class that was never predicted, and recall for a class
    with no rows: 0 / 0 is not a score, and reporting 0 would blame the model for it.

    F1, the harmonic mean 2PR / (P + R) of precision and recall, is 2 * hits / (predicted +
    rows): defined wherever the class has rows or predictions, None only where it has neither.
    That is scikit-learn's precision_recall_fscore_support, whose zero_division applies to F1
    only in that case. Where one of P and R is undefined, the other is 0 (no hits), and so is
    F1 whatever the undefined one would be: a class with rows that the model never predicts has
    F1 0, not None, so that the averages below count the miss. Where P = R = 0, F1 is 0.
    """
    correct = confusion.diagonal().tolist()
    predicted = confusion.sum(dim=0).tolist()
    actual = confusion.sum(dim=1).tolist()
    return [
        {
            "class": name,
            "precision": hit / n_predicted if n_predicted else None,
            "recall": hit / n_actual if n_actual else None,
            "f1": 2 * hit / (n_predicted + n_actual) if n_predicted + n_actual else None,
            "support": n_actual,
        }
        for name, hit, n_predicted, n_actual in zip(
            class_names, correct, predicted, actual, strict=True
        )
    ]


def _average(values: list, weights: list) -> float | None:
    """The weighted mean of the values that are not None; None if all are."""
    defined = [
        (value, weight) for value, weight in zip(values, weights, strict=True) if value is not None
    ]
    if not defined:
        return None
    total = sum(weight for _, weight in defined)
    if total == 0:  # no rows where it is defined: scikit-learn's plain mean (see averages)
        return sum(value for value, _ in defined) / len(defined)
    return sum(value * weight for value, weight in defined) / total


def averages(rows: Sequence[dict]) -> dict:
    """Averages over the classes of per_class's scores, from its rows:
    {"macro": {"precision": p, "recall": r, "f1": f}, "weighted": {...}}.

    macro: the plain mean over the classes, each counting alike whatever its number of rows, so
    that a rare class the model gets wrong shows. weighted: the mean weighted by the classes'
    support (rows), which the common classes dominate.

    A score that is None for a class (see per_class) is left out of the mean, which is then over
    the classes where it is defined; a score defined for no class averages to None. This is
    scikit-learn's precision_recall_fscore_support and classification_report with
    zero_division=np.nan. Their default, zero_division="warn", counts an undefined score as 0
    instead: a class the model never predicts would lower macro precision, although the miss
    already shows in its recall and F1 (both 0), and a class with no rows would lower macro
    recall for no fault of the model's. When the classes where a score is defined have no rows
    at all (the weights sum to 0), scikit-learn's weighted mean falls back to the plain mean,
    and so does this one; those scores can only be precisions of classes with no rows, all 0.
    """
    supports = [row["support"] for row in rows]
    return {
        "macro": {
            score: _average([row[score] for row in rows], [1] * len(rows)) for score in SCORES
        },
        "weighted": {score: _average([row[score] for row in rows], supports) for score in SCORES},
    }
