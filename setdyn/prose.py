"""Words the numbers choose: the book's prose glues these, so that "all", "none", "8th" or "+120" follow
the computation instead of being typed."""
from __future__ import annotations


def ordinal(n: int) -> str:
    """1 -> '1st', 2 -> '2nd', 11 -> '11th', 23 -> '23rd'."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def count(n: int, one: str, many: str) -> str:
    """'1 network is' / '3 networks are': a count with its noun and verb agreeing."""
    return f"{n} {one if n == 1 else many}"


def count_words(k: int, n: int, thing: str) -> str:
    """'all 5 phase codes', 'none of the 5 ...', '3 of the 5 ...': the quantifier chosen by the count
    (with n <= 2, plainly '1 of 2 ...')."""
    if n > 2 and k == n:
        return f"all {n} {thing}"
    if n <= 2:
        return f"{k} of {n} {thing}"
    if k == 0:
        return f"none of the {n} {thing}"
    return f"{k} of the {n} {thing}"


def capitalised(text: str) -> str:
    """The text with its first letter upper-case (for a glued phrase that starts a sentence)."""
    return text[:1].upper() + text[1:]


def signed(x: float, digits: int = 0) -> str:
    """An angle or shift with its sign: +120, -120, and 0 without one (as rounded to `digits`)."""
    text = f"{x:+.{digits}f}"
    return text[1:] if float(text) == 0 else text
