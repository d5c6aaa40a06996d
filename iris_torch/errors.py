"""The errors a user can act on. Each message is one line that says what is wrong and, where
it can, what to do; the commands print it without a traceback. No torch here, so the command
line can catch these before it has imported torch."""


class UsageError(Exception):
    """A flag or argument a command cannot use."""


class DataError(ValueError):
    """A data file that cannot be used."""


class CheckpointError(ValueError):
    """A file that cannot be loaded as an iris_torch model."""


class DivergenceError(ArithmeticError):
    """The training loss stopped being a finite number: training cannot go on from there."""

    def __init__(self, epoch: int, loss: float, advice: str = "") -> None:
        advice = advice or "a smaller learning rate, or standardised features, usually helps"
        super().__init__(f"training diverged: the loss became {loss} in epoch {epoch}; {advice}")
        self.epoch = epoch
        self.loss = loss
