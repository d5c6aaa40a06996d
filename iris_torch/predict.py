"""`python -m iris_torch.predict`: the prediction command, in iris_torch/cli/predict.py."""

import sys

from .cli.predict import main

if __name__ == "__main__":
    sys.exit(main())
