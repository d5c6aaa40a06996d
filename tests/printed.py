"""Comparing printed output with a stored copy of it, on any CPU.

The README's sample output and the notebooks' stored outputs are compared with what the code
prints now. The words must be the same; the numbers only close: a float computed on another CPU
can differ in its last bits (another BLAS kernel, another vector width, another order of
summation), and so can the last printed digit of a rounded figure. What the outputs show is
therefore never at the level of rounding noise itself (a notebook prints "0 to rounding", not
-3.5e-18); what they show is compared to a tolerance far above that noise and far below any
change that means something.
"""

import math
import re

# A number as Python, NumPy and torch print one: a sign of either kind, a fraction with or
# without digits before the point, an exponent; or inf and nan, with a sign.
NUMBER = re.compile(r"[-+]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|\b(?:inf|nan)\b)")

# Absolute, for figures printed with 4 to 6 decimals (losses, accuracies, weights): about two
# units in the 4th decimal. Relative, for large figures. float32 training differs between CPUs
# by about 1e-6 relative, float64 by about 1e-14: both lie far inside.
ABSOLUTE, RELATIVE = 2e-4, 1e-3


def words(text: str) -> str:
    """The text with every number replaced by #, and any run of white space by one space."""
    return re.sub(r"\s+", " ", NUMBER.sub("#", text)).strip()


def numbers(text: str) -> list[float]:
    return [float(number) for number in NUMBER.findall(text)]


def close(a: float, b: float) -> bool:
    """Equal (inf to inf, nan to nan), or within ABSOLUTE + RELATIVE * |b| of each other."""
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b or abs(a - b) <= ABSOLUTE + RELATIVE * abs(b)


def same_text(stored: str, fresh: str) -> bool:
    """The same words in the same order, and every number close to its counterpart."""
    first, second = numbers(stored), numbers(fresh)
    return (
        words(stored) == words(fresh)
        and len(first) == len(second)
        and all(close(a, b) for a, b in zip(first, second, strict=True))
    )
