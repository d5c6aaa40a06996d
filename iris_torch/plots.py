"""The figure behind --plot: loss curves and the confusion matrix, as PNG, PDF or SVG.

matplotlib is imported here and only here, when a figure is asked for, so that the command
line does not pay for it otherwise; torch is not imported at all, so that the command line can
check a --plot path before it pays for torch.
"""

from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING

from .files import atomic_path

if TYPE_CHECKING:
    import torch

    from .training import History

PLOT_FORMATS = ("png", "pdf", "svg")
"""The figure's file types, chosen by the path's suffix in any case: PNG to look at, PDF and
SVG to print or to put on a slide at any size."""


def figure_format(path: str | PathLike) -> str:
    """'png', 'pdf' or 'svg' from the suffix of `path` (any case); ValueError for any other."""
    suffix = Path(path).suffix.lower().removeprefix(".")
    if suffix not in PLOT_FORMATS:
        *others, last = (f".{name}" for name in PLOT_FORMATS)
        raise ValueError(f"{path}: the figure can be written as {', '.join(others)} or {last}")
    return suffix


def save_training_figure(
    path: str | PathLike,
    history: "History",
    confusion: "torch.Tensor",
    class_names: tuple[str, ...],
    title: str,
    scored_on: str = "test",
) -> None:
    """Left: training objective and test cross-entropy per epoch. Right: the confusion matrix
    of the set named by scored_on ("test", or "training" when there is no test set).

    The file type follows the suffix of `path` (see PLOT_FORMATS).
    """
    file_format = figure_format(path)

    import matplotlib

    matplotlib.use("Agg")  # draw to a file; no display needed
    import matplotlib.pyplot as plt

    figure, (curves, matrix) = plt.subplots(1, 2, figsize=(11, 4.5))
    epochs = range(1, len(history.loss) + 1)
    curves.plot(epochs, history.loss, label="train: the objective (cross-entropy + L2 penalty)")
    if history.val_loss:
        curves.plot(epochs, history.val_loss, label="test: cross-entropy")
    curves.set(xlabel="epoch", ylabel="loss (nats)", title="Loss")
    curves.legend()

    counts = confusion.tolist()
    matrix.imshow(counts, cmap="Blues")
    ticks = range(len(class_names))
    matrix.set_xticks(ticks, class_names, rotation=30, ha="right")
    matrix.set_yticks(ticks, class_names)
    matrix.set(
        xlabel="predicted class",
        ylabel="true class",
        title=f"{scored_on.capitalize()} set confusion matrix",
    )
    largest = max(max(row) for row in counts)
    for i, row in enumerate(counts):
        for j, count in enumerate(row):
            colour = "white" if count > largest / 2 else "black"
            matrix.text(j, i, str(count), ha="center", va="center", color=colour)

    figure.suptitle(title)
    figure.tight_layout()
    with atomic_path(path) as temporary:
        figure.savefig(temporary, format=file_format, dpi=100)
    plt.close(figure)
