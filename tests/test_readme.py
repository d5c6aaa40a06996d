"""The README tells the truth: its example runs, its sample output and flag table match."""

import re
from pathlib import Path

from printed import same_text

from iris_torch.cli.train import build_parser, main

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def fenced_blocks(language):
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.DOTALL)


def test_api_example_runs_and_its_assertion_holds():
    (example,) = fenced_blocks("python")
    exec(compile(example, "README.md", "exec"), {})


def test_sample_output_is_what_the_main_command_prints(capsys):
    sample = next(block for block in fenced_blocks("text") if "Train Epoch" in block)
    assert main(["--backend", "autograd"]) == 0
    printed = capsys.readouterr().out.splitlines()

    # The same words, numbers close to the last printed digit (they may vary with the CPU).
    for line in sample.splitlines():
        if line != "...":
            assert any(same_text(line, actual) for actual in printed), line


def test_flag_table_lists_every_flag_and_only_those():
    flags = {
        option
        for action in build_parser()._actions
        for option in action.option_strings
        if option.startswith("--") and option != "--help"
    }
    documented = set(re.findall(r"^\| `(--[a-z0-9-]+)", README, flags=re.MULTILINE))
    assert documented == flags
