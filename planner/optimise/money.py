"""Money in the solver: amounts in major units (pounds, euros) to integer minor units and back.

CP-SAT works on integers, so prices, budgets and targets become whole minor units (pence,
cents) here and only here, and solver results come back through `to_major`. Every currency
the rate cards use (GBP, EUR, USD) has 100 minor units to the major unit (ISO 4217).
"""

from __future__ import annotations

from typing import Literal, overload

import numpy as np
import numpy.typing as npt

__all__ = ["MINOR_PER_MAJOR", "to_major", "to_minor"]

#: Minor units per major unit (ISO 4217 exponent 2: pence per pound, cents per euro).
MINOR_PER_MAJOR = 100

#: Tolerance, in minor units, for amounts such as 12.345 * 100 = 1234.4999999 in floats.
_EPS = 1e-6

Rounding = Literal["nearest", "up", "down"]


@overload
def to_minor(amount: float, *, rounding: Rounding = "nearest") -> int: ...
@overload
def to_minor(amount: npt.ArrayLike, *, rounding: Rounding = "nearest") -> np.ndarray: ...
def to_minor(amount, *, rounding: Rounding = "nearest"):
    """Convert an amount (or an array of amounts) in major units to whole minor units.

    Parameters
    ----------
    amount
        A number or an array of shape (n,), in major units (e.g. pounds); NaN counts as 0.
    rounding
        ``"nearest"`` for prices and budgets, ``"up"`` for targets that must be met in full
        (a revenue target of 10.001 needs 1,001 pence), ``"down"`` for limits that must not
        be exceeded (a capex budget of 10.009 allows 1,000 pence).

    Returns
    -------
    int or numpy.ndarray of int64
        Minor units, of the same shape as `amount`.

    Raises
    ------
    ValueError
        When `rounding` is not one of the three modes.

    Examples
    --------
    >>> to_minor(12.34), to_minor(10.001, rounding="up"), to_minor([1.5, 2.0]).tolist()
    (1234, 1001, [150, 200])
    """
    scaled = np.nan_to_num(np.asarray(amount, dtype=float)) * MINOR_PER_MAJOR
    if rounding == "nearest":
        out = np.rint(scaled)
    elif rounding == "up":
        out = np.ceil(scaled - _EPS)
    elif rounding == "down":
        out = np.floor(scaled + _EPS)
    else:
        raise ValueError(f"rounding must be 'nearest', 'up' or 'down'; got {rounding!r}")
    out = out.astype(np.int64)
    return int(out) if out.ndim == 0 else out


@overload
def to_major(minor: int | np.integer | float) -> float: ...
@overload
def to_major(minor: np.ndarray) -> np.ndarray: ...
def to_major(minor):
    """Convert whole minor units (a number or an array) back to major units.

    Parameters
    ----------
    minor
        Minor units (e.g. pence), a number or an array of shape (n,).

    Returns
    -------
    float or numpy.ndarray of float64
        Major units (e.g. pounds), of the same shape as `minor`.

    Examples
    --------
    >>> to_major(1234)
    12.34
    """
    out = np.asarray(minor, dtype=float) / MINOR_PER_MAJOR
    return float(out) if out.ndim == 0 else out
