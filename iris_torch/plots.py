"""The figure behind --plot: loss curves and the confusion matrix, as one PNG.

matplotlib is imported here and only here, when a figure is asked for, so that the command
line does not pay for it otherwise.
"""

from os import PathLike

import torch

from .files import atomic_path
from .training import History


def save_training_figure(
    path: str | PathLike,
    history: History,
    confusion: torch.Tensor,
    class_names: tuple[str, ...],
    title: str,
) -> None:
    """Left: training objective and test cross-entropy per epoch. Right: test confusion matrix."""
    import matplotlib

    matplotlib.use("Agg")  # draw to a file; no display needed
    import matplotlib.pyplot as plt

    figure, (curves, matrix) = plt.subplots(1, 2, figsize=(11, 4.5))
    epochs = range(1, len(history.loss) + 1)
    curves.plot(epochs, history.loss, label="train: cross-entropy + L2 penalty")
    if history.val_loss:
        curves.plot(epochs, history.val_loss, label="test: cross-entropy")
    curves.set(xlabel="epoch", ylabel="loss (nats)", title="Loss")
    curves.legend()

    counts = confusion.tolist()
    matrix.imshow(counts, cmap="Blues")
    ticks = range(len(class_names))
    matrix.set_xticks(ticks, class_names, rotation=30, ha="right")
    matrix.set_yticks(ticks, class_names)
    matrix.set(xlabel="predicted class", ylabel="true class", title="Test set confusion matrix")
    largest = max(max(row) for row in counts)
    for i, row in enumerate(counts):
        for j, count in enumerate(row):
            colour = "white" if count > largest / 2 else "black"
            matrix.text(j, i, str(count), ha="center", va="center", color=colour)

    figure.suptitle(title)
    figure.tight_layout()
    with atomic_path(path) as temporary:
        figure.savefig(temporary, format="png", dpi=100)
    plt.close(figure)
