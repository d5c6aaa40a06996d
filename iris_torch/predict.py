"""`python -m iris_torch.predict`: the prediction command, in iris_torch/cli/predict.py."""

from .cli import run_as_program
from .cli.predict import main

if __name__ == "__main__":
    run_as_program(main)
