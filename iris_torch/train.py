"""`python -m iris_torch.train`: the training command, in iris_torch/cli/train.py."""

import sys

from .cli.train import main

if __name__ == "__main__":
    sys.exit(main())
