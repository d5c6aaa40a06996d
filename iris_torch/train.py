"""`python -m iris_torch.train`: the training command, in iris_torch/cli/train.py."""

from .cli import run_as_program
from .cli.train import main

if __name__ == "__main__":
    run_as_program(main)
