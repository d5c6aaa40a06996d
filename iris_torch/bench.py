"""`python -m iris_torch.bench`: the benchmark, in iris_torch/cli/bench.py."""

import sys

from .cli.bench import main

if __name__ == "__main__":
    sys.exit(main())
