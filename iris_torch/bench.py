"""`python -m iris_torch.bench`: the benchmark, in iris_torch/cli/bench.py."""

from .cli import run_as_program
from .cli.bench import main

if __name__ == "__main__":
    run_as_program(main)
