"""Text columns read once per distinct value: asset files repeat a few words on every row."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["lower_text", "map_distinct"]


def map_distinct(values: pd.Series, function: Callable[[Any], Any], missing: Any) -> np.ndarray:
    """Apply ``function`` to every value of a column, once per distinct value.

    The same result as ``[function(v) for v in values]`` with ``missing`` for missing
    values, at the cost of the distinct values (a column of 400,000 asset types holds a
    dozen). Only a column of pandas' text dtype is read that way (every value a ``str``);
    any other is mapped value by value, so that values which compare equal across types
    (``True`` and ``1``, ``numpy.str_`` and ``str``) keep their own results.

    Parameters
    ----------
    values
        A column, shape (n,).
    function
        Called on each distinct non-missing value.
    missing
        The result for a missing value (None, NaN, NA).

    Returns
    -------
    numpy.ndarray
        Object array, shape (n,), in the column's order.
    """
    if not isinstance(values.dtype, pd.StringDtype):
        present = values.notna().to_numpy()
        return np.array(
            [function(v) if ok else missing for v, ok in zip(values, present, strict=True)],
            dtype=object,
        )
    codes, distinct = pd.factorize(values, use_na_sentinel=True)
    results = np.empty(len(distinct) + 1, dtype=object)
    results[:-1] = [function(v) for v in distinct]
    results[-1] = missing  # code -1: missing
    return results[codes]


def lower_text(frame: pd.DataFrame, name: str, default: str) -> np.ndarray:
    """Return a text column stripped and lower-cased; ``default`` where absent, missing or blank.

    Parameters
    ----------
    frame
        A table, shape (n, ...).
    name
        The column.
    default
        The text for a row without one (already stripped and lower-case).

    Returns
    -------
    numpy.ndarray
        Object array of str, shape (n,).
    """
    if name not in frame.columns:
        return np.full(len(frame), default, dtype=object)
    return map_distinct(frame[name], lambda v: str(v).strip().lower() or default, default)
