"""The `iris-torch` command: `iris-torch train ...` is `python -m iris_torch.train ...`."""

import sys

USAGE = """usage: iris-torch COMMAND [options]

commands:
  train    train a model (same as python -m iris_torch.train); see iris-torch train --help"""


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "train":
        from .train import main as train

        return train(argv[1:], prog="iris-torch train")
    if argv and argv[0] in ("-h", "--help"):
        print(USAGE)
        return 0
    print(USAGE, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
