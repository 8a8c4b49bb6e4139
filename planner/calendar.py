"""The trading calendar: out-of-home media is sold in 2-week cycles, numbered from 1.

UK roadside and street-furniture panels are booked by the fortnightly cycle (26 a year,
each starting on a Monday); every date the planner shows is derived from a cycle number
and the Monday cycle 1 starts on.
"""

from __future__ import annotations

from datetime import date, timedelta

__all__ = ["CYCLES_PER_YEAR", "CYCLE_DAYS", "DEFAULT_START", "cycle_dates", "parse_cycles"]

#: Length of one cycle, in days.
CYCLE_DAYS = 14
#: Cycles in a trading year (26 x 14 = 364 days).
CYCLES_PER_YEAR = 26
#: Monday on which cycle 1 starts unless a plan says otherwise.
DEFAULT_START = date(2027, 1, 4)


def cycle_dates(cycle: int, start: date = DEFAULT_START) -> tuple[date, date]:
    """Return the first and last day (inclusive) of a cycle.

    Parameters
    ----------
    cycle
        Cycle number, 1 for the cycle that begins on ``start``.
    start
        First day of cycle 1 (a Monday by trade convention; not checked).

    Returns
    -------
    tuple of datetime.date
        ``(first, last)``, 14 days apart inclusive: ``last = first + 13 days``.

    Examples
    --------
    >>> cycle_dates(2, date(2027, 1, 4))
    (datetime.date(2027, 1, 18), datetime.date(2027, 1, 31))
    """
    first = start + timedelta(days=CYCLE_DAYS * (cycle - 1))
    return first, first + timedelta(days=CYCLE_DAYS - 1)


def parse_cycles(text: str | int, *, max_cycle: int = 10 * CYCLES_PER_YEAR) -> tuple[int, ...]:
    """Parse a cycle list such as ``3``, ``3-4`` or ``1;5;9`` (ranges may be mixed: ``1-3;7``).

    Parameters
    ----------
    text
        Cycle numbers and inclusive ranges separated by ``;`` (or ``,``), as typed in a
        campaigns table; an int is one cycle.
    max_cycle
        Highest cycle number accepted (default ten years of cycles, 260).

    Returns
    -------
    tuple of int
        The cycles, sorted, each once.

    Raises
    ------
    ValueError
        With a plain message when the text is empty or not a cycle list, a range ends
        before it starts, or a cycle is outside 1 to ``max_cycle``; callers turn it into
        their own domain error (e.g. `CampaignError` naming the row).

    Examples
    --------
    >>> parse_cycles("1-3;7")
    (1, 2, 3, 7)
    >>> parse_cycles("5, 3")
    (3, 5)
    """
    cycles: set[int] = set()
    parts = [p.strip() for p in str(text).replace(",", ";").split(";") if p.strip()]
    if not parts:
        raise ValueError("no cycle given; write e.g. 3, 3-4 or 1;5;9")
    for part in parts:
        lo, sep, hi = part.partition("-")
        try:
            first, last = int(lo), int(hi) if sep else int(lo)
        except ValueError:
            raise ValueError(
                f"'{part}' is not a cycle number or range; write e.g. 3, 3-4 or 1;5;9"
            ) from None
        if last < first:
            raise ValueError(f"range '{part}' ends before it starts")
        if first < 1 or last > max_cycle:
            raise ValueError(f"cycle {first if first < 1 else last} is outside 1-{max_cycle}")
        cycles.update(range(first, last + 1))
    return tuple(sorted(cycles))
