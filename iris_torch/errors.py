"""The errors a user can act on. Each message is one line that says what is wrong and, where
it can, what to do; the commands print it without a traceback. No torch here, so the command
line can catch these before it has imported torch."""

import math


class UsageError(Exception):
    """A flag or argument a command cannot use."""


class DataError(ValueError):
    """A data file that cannot be used."""


class CheckpointError(ValueError):
    """A file that cannot be loaded as an iris_torch model."""


class DivergenceError(ArithmeticError):
    """The training loss stopped being a finite number, or rose far above where it started:
    training cannot usefully go on from there."""

    def __init__(self, epoch: int, loss: float, start: float, advice: str = "") -> None:
        advice = advice or "a smaller learning rate, or standardised features, usually helps"
        rose = f"rose from {start:.4g} to" if math.isfinite(loss) else "became"
        super().__init__(
            f"training diverged: the loss {rose} {loss:.4g} in epoch {epoch}; {advice}"
        )
        self.epoch = epoch
        self.loss = loss
        self.start = start


SIGINT, SIGTERM = 2, 15  # signal.SIGINT and SIGTERM, by their numbers on every platform


class Stopped(KeyboardInterrupt):
    """SIGTERM, turned into an interrupt so that a command ends as Ctrl-C ends it; the message
    says what stopped it. signal: its number, for the exit code 128 + signal."""

    signal = SIGTERM


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM during training: in which epoch, and where the model was saved, if it
    was. how: what stopped it; signal: which signal (SIGINT for Ctrl-C)."""

    def __init__(
        self,
        epoch: int,
        epochs: int,
        saved_to: str | None = None,
        how: str = "interrupted",
        signal: int = SIGINT,
    ) -> None:
        what = (
            "nothing was saved" if saved_to is None else f"saved the model as it was to {saved_to}"
        )
        super().__init__(f"{how} at epoch {epoch} of {epochs}; {what}")
        self.epoch = epoch
        self.epochs = epochs
        self.saved_to = saved_to
        self.how = how
        self.signal = signal


class GroupError(RuntimeError):
    """A run of several processes that cannot go on: a process died, hung or never arrived, or
    the processes could not meet (a busy port, an address nobody answers on)."""
