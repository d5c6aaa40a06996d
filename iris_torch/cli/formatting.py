"""Plain-text tables for the command line's reports."""

from collections.abc import Callable, Sequence


def format_table(
    row_names: Sequence[str],
    column_names: Sequence[str],
    rows: Sequence[Sequence],
    cell: Callable[[object], str] = str,
) -> list[str]:
    """Lines of a right-aligned table with a header row and a column of row names."""
    cells = [[cell(value) for value in row] for row in rows]
    first = max(len(name) for name in row_names)
    widths = [
        max(len(name), *(len(row[j]) for row in cells)) for j, name in enumerate(column_names)
    ]
    header = " " * first + "".join(
        f"  {name:>{width}}" for name, width in zip(column_names, widths, strict=True)
    )
    return [header] + [
        f"{name:<{first}}"
        + "".join(f"  {text:>{width}}" for text, width in zip(row, widths, strict=True))
        for name, row in zip(row_names, cells, strict=True)
    ]
