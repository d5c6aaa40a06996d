"""Sphinx configuration of the iris_torch site. Build it from the repository root with

    python -m sphinx -W --keep-going -b html docs docs/_build/html

The pages hold no second copy of anything: the notebooks are rendered with the outputs stored in
them (CI executes them; the site build does not), the guide is the README's sections included
as they stand, the code pages include the package's files, and the API reference is autodoc of
the docstrings.
"""

import json
import re
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))  # autodoc imports the package from this checkout

project = "iris_torch"
author = "the iris_torch authors"
copyright = "the iris_torch authors, MIT licence"
release = version = "0.1.0"

extensions = [
    "myst_nb",  # Markdown pages and notebooks; it loads myst_parser itself
    "sphinx.ext.autodoc",
    "sphinx.ext.viewcode",
    # MathJax inside the site (_static/mathjax), so that math is typeset with no network; it
    # sets mathjax_path to that copy instead of a CDN.
    "sphinx-mathjax-offline",
]

html_theme = "furo"
# "--tol" stays two hyphens and quotes stay straight: the pages are full of flags and code.
smartquotes = False
html_title = "iris_torch"
exclude_patterns = ["_build", "**.ipynb_checkpoints"]

# Notebooks are pages with the outputs stored in them: CI has executed them already.
nb_execution_mode = "off"
# $...$ and $$...$$ in Markdown cells and pages become Sphinx math nodes (typeset by MathJax);
# amsmath takes \begin{align} and the like.
myst_enable_extensions = ["dollarmath", "amsmath"]
# Anchors for headings down to ###, so the README's in-page links (#installing-pytorch) resolve.
myst_heading_anchors = 3

# Each module documents what it defines, not what it imports: iris_torch's own names (its
# __all__, imported on first use) and those that iris_torch.data.prepare passes on from
# iris_torch.errors are documented once, where they are defined; the package's section lists
# them (see exported_names).
autodoc_default_options = {"members": True, "ignore-module-all": True}
autodoc_member_order = "bysource"
# Every reference to a name of ours must resolve, or -W fails the build; names of other
# libraries in the signatures (torch.Tensor, os.PathLike, ...) have no pages here: linking
# them would need intersphinx, which fetches inventories from the network.
nitpicky = True
nitpick_ignore_regex = [("py:class", r"(torch|numpy|os|collections\.abc)\..*")]
autodoc_typehints = "signature"

# Sphinx reads only files under docs/, so the notebooks are copied in (docs/notebooks/ is
# ignored by git). The README's links to notebooks/NN_name.ipynb then resolve from the guide
# pages, which sit at the top of docs/ as the README sits at the top of the repository.
LESSON_CODE = {
    "01_data": ["prepare"],
    "02_manual_gradients": ["manual", "objective", "base"],
    "03_autograd": ["autograd"],
    "04_nn_module": ["nn_module"],
    "05_functional": ["functional"],
    "08_scaling_up": ["fast"],
    "09_many_processes": ["distributed"],
}
"""Each lesson's code: the pages under docs/code/ that its notebook page links to."""


def code_link(name: str) -> str:
    """A Markdown link from a notebook page to docs/code/<name>.md, titled by its file."""
    title = re.search(r"^# (.+)$", (DOCS / "code" / f"{name}.md").read_text(), re.M)[1]
    return f"[{title}](../code/{name}.md)"


def copy_notebooks() -> None:
    """Copy ../notebooks/*.ipynb into docs/notebooks/, each lesson with a link to its code.

    The link is a Markdown cell put after the title cell of the copy; the notebooks themselves
    are left as they are. A file is rewritten only when it changes, so that Sphinx rereads only
    what changed.
    """
    target = DOCS / "notebooks"
    target.mkdir(exist_ok=True)
    sources = sorted((ROOT / "notebooks").glob("*.ipynb"))
    for stale in set(target.glob("*.ipynb")) - {target / path.name for path in sources}:
        stale.unlink()
    for path in sources:
        notebook = json.loads(path.read_text())
        if path.stem in LESSON_CODE:
            links = ", ".join(code_link(name) for name in LESSON_CODE[path.stem])
            cell = {
                "cell_type": "markdown",
                "id": "lesson-code",  # nbformat 4.5 wants an id on every cell
                "metadata": {},
                "source": f"The code of this lesson, rendered: {links}.",
            }
            notebook["cells"].insert(1, cell)
        text = json.dumps(notebook, indent=1, ensure_ascii=False) + "\n"
        copy = target / path.name
        if not copy.exists() or copy.read_text() != text:
            copy.write_text(text)


copy_notebooks()


def lift_readme_headings(app, relative_path, parent_docname, content) -> None:
    """Raise the README's headings one level as a guide page includes a section of it.

    In the README a section is `## Performance` with `### ...` inside; on its own page the
    section's title is the page's `# Performance` and its subsections are `##`. So `##`
    becomes `#` and `###` becomes `##` (outside fenced code), and the pages' start-after and
    end-before name the headings as lifted. The README's `# iris_torch` stays as it is.
    """
    if Path(relative_path).name != "README.md":
        return
    lines, fenced = [], False
    for line in content[0].split("\n"):
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and line.startswith("##"):
            line = line[1:]
        lines.append(line)
    content[0] = "\n".join(lines)


INLINE_CODE = re.compile(r"(`[^`]+`)")
MARKUP = re.compile(r"([\\*|]|(?<=\w)_(?!\w))")
"""What reStructuredText would take for markup in plain prose: a backslash, `*` (emphasis),
`|` (substitution), and `_` ending a word (`scatter_` would be a link to a target "scatter")."""


def plain_text(line: str) -> str:
    """A line of prose as reStructuredText that shows it as written; `code` as inline code."""
    parts = INLINE_CODE.split(line)
    return "".join(
        f"`{part}`" if part.startswith("`") else MARKUP.sub(r"\\\1", part) for part in parts
    )


def docstring_as_prose(app, what, name, obj, options, lines) -> None:
    """Show the package's plain-prose docstrings as written, not as reStructuredText.

    The docstrings are written for help() and for reading in the source: `scatter_`, `*.csv` or
    `l2 * sum(W ** 2)` would be markup to reStructuredText (and -W makes its complaints errors).
    Prose is escaped; `code` becomes inline code; a block indented under a line of prose (a
    formula, a table of methods, an example) becomes a literal block, kept as laid out; list
    items ("- ...") stay lists.
    """
    out: list[str] = []
    literal = in_item = False
    for line in lines:
        indented = line[:1].isspace()
        if not line.strip():
            in_item = False
        elif indented and not in_item and not literal:
            # an indented block: a literal block, announced by "::" as reStructuredText wants
            if out and out[-1].strip():
                out.append("")
            last = max((i for i, text in enumerate(out) if text.strip()), default=None)
            if last is not None and out[last].endswith(":"):
                out[last] += ":"  # "Two ways:" followed by "::" shows as "Two ways:"
            else:
                out[len(out) :] = ["::", ""]
            literal = True
        elif not indented:
            literal = False
            in_item = line.startswith("- ")
        out.append(line if literal else plain_text(line))
    lines[:] = out


def exported_names(app, docname, source) -> None:
    """List iris_torch's own names (its __all__) in the API page, each linked to where it is
    defined: generated, so that the list cannot fall behind the package."""
    if docname != "api":
        return
    import iris_torch

    items = []
    for name in iris_torch.__all__:
        obj = getattr(iris_torch, name)
        home = getattr(obj, "__module__", "iris_torch")
        role = "py:class" if isinstance(obj, type) else "py:func" if callable(obj) else "py:data"
        items.append(f"- {{{role}}}`iris_torch.{name} <{home}.{name}>`")
    source[0] = source[0].replace("<!-- iris_torch.__all__ -->", "\n".join(items))


def setup(app):
    app.connect("include-read", lift_readme_headings)
    app.connect("autodoc-process-docstring", docstring_as_prose)
    app.connect("source-read", exported_names)
