"""Per-column checks of asset, site and zone tables, and the collector of row problems.

Pure functions on DataFrames: each check records problems and never raises. The checks
also normalise what they check in place (text lower-cased and stripped, numbers parsed,
yes/no read as bool, defaults filled), so `planner.io.validation` can finish the table.
"""

from __future__ import annotations

import difflib
import re

import numpy as np
import pandas as pd

from planner import schema
from planner.errors import Problem
from planner.io.numbers import ambiguity, parse_numbers

__all__ = [
    "FIELD_CHECKS",
    "YES_NO",
    "Collector",
    "kind_map_fix",
    "map_kinds",
    "normalise_vocabulary",
    "normalise_words",
    "row_labels",
    "suggest_kind",
]

_TRUE = {"true", "t", "yes", "y", "1", "digital"}
_FALSE = {"false", "f", "no", "n", "0", "classic", ""}
#: Every spelling of true/false a ``digital`` column may hold.
YES_NO = frozenset(_TRUE | _FALSE)
_DIGITAL_FORMATS = {"d6", "d48", "d96", "digital_screen"}


class Collector:
    """Collects row problems and remembers which rows are unusable.

    Every check writes here instead of raising, so one validation run reports every
    problem of a file (osmnx's ``_validate`` style).

    Parameters
    ----------
    source
        File name, for each `Problem`.
    labels
        Row labels by position (from `row_labels`), e.g. ``labels[5] == "row 7 (id A5)"``.

    Attributes
    ----------
    problems
        Every `Problem` recorded, in order.
    bad
        Positions (0-based) of rows with at least one error: the rows ``drop_invalid``
        drops.

    Examples
    --------
    >>> col = Collector("assets.csv", row_labels(pd.DataFrame({"asset_id": ["A1"]}),
    ...                 "asset_id", 2))
    >>> col.row(0, "faces", "'two' is not a number", "Enter a number")
    >>> str(col.problems[0]), col.bad
    ("assets.csv, row 2 (id A1), column 'faces': 'two' is not a number. Enter a number", {0})
    """

    def __init__(self, source: str, labels: _Labels) -> None:
        self.source = source
        self.labels = labels
        self.problems: list[Problem] = []
        self.bad: set[int] = set()
        #: Whether the file's separator suggests decimal commas (None: unknown).
        self.decimal_comma: bool | None = None
        #: The caller's kind map read backwards: each target, the file values mapped to it.
        self.mapped_kinds: dict[str, list[str]] = {}

    def row(self, i: int, column: str, found: str, fix: str, severity: str = "error") -> None:
        """Record a problem of the row at position ``i``; an error marks the row bad.

        Parameters
        ----------
        i
            Row position, 0-based (labelled as the spreadsheet numbers it).
        column
            Column concerned.
        found, fix
            What was found and how to fix it.
        severity
            ``"error"`` (the row is unusable) or ``"warning"``.
        """
        self.problems.append(Problem(self.source, self.labels[i], column, found, fix, severity))
        if severity == "error":
            self.bad.add(i)

    def file(self, column: str, found: str, fix: str, severity: str = "error") -> None:
        """Record a problem of the whole file (no row); it marks no row bad.

        Parameters
        ----------
        column
            Column concerned, empty when none.
        found, fix
            What was found and how to fix it.
        severity
            ``"error"`` or ``"warning"`` (e.g. a default assumed for every row).
        """
        self.problems.append(Problem(self.source, "", column, found, fix, severity))


class _Labels:
    """Row labels such as ``row 7 (id A5)``, made only for the rows that have a problem."""

    def __init__(self, ids: list | None, first_row: int) -> None:
        self.ids = ids
        self.first_row = first_row

    def __getitem__(self, i: int) -> str:
        label = f"row {i + self.first_row}"
        if self.ids is not None and not pd.isna(self.ids[i]):
            label += f" (id {self.ids[i]})"
        return label


def row_labels(frame: pd.DataFrame, id_col: str, first_row: int) -> _Labels:
    """Label a table's rows ``row N (id X)``, numbered from ``first_row``.

    Parameters
    ----------
    frame
        The table.
    id_col
        Its id column; labels are plain ``row N`` when it is absent or the id is missing.
    first_row
        Number a spreadsheet shows for the first record (2 below a CSV header).

    Returns
    -------
    _Labels
        Indexable by row position; each label is made only when asked for.

    Examples
    --------
    >>> frame = pd.DataFrame({"asset_id": ["A1", None]})
    >>> labels = row_labels(frame, "asset_id", 2)
    >>> labels[0], labels[1]
    ('row 2 (id A1)', 'row 3')
    """
    # A label per row up front cost a minute on a million rows; most rows have no problem.
    ids = frame[id_col].astype("string").tolist() if id_col in frame.columns else None
    return _Labels(ids, first_row)


def _numeric(
    frame: pd.DataFrame,
    name: str,
    col: Collector,
    *,
    minimum: float,
    integer: bool,
    default: float | None,
) -> None:
    """Parse a numeric column in place, recording text, too-small and fractional values.

    A missing column becomes ``default`` (NaN when None). Blank cells become ``default``
    too, without a problem; values that are not numbers, below ``minimum``, infinite or
    (when ``integer``) not whole are errors of their row.
    """
    if name not in frame.columns:
        if default is not None:
            frame[name] = default
        elif name in frame.columns or default is None:
            frame[name] = np.nan
        return
    raw = frame[name]
    parsed = parse_numbers(raw, decimal_comma=getattr(col, "decimal_comma", None))
    values = parsed.values
    if parsed.style == "ambiguous":
        col.file(name, *ambiguity(parsed.example))
        # One message for the file, not one per row: those rows are unusable all the same.
        col.bad.update(int(i) for i in np.flatnonzero(values.isna().to_numpy()))
        frame[name] = values
        return
    if parsed.style:
        col.file(
            name,
            f"numbers are written with a {parsed.style} (e.g. '{parsed.example}'); they were "
            "read as such",
            "Nothing to do",
            "warning",
        )
    blank = raw.isna() | (raw.astype("string").str.strip() == "").fillna(True)
    for i in np.flatnonzero((values.isna() & ~blank).to_numpy()):
        col.row(int(i), name, f"'{raw.iloc[i]}' is not a number", f"Enter a number in '{name}'")
    bad = values.notna() & ((values < minimum) | ~np.isfinite(values))
    if integer:
        bad |= values.notna() & np.isfinite(values) & (values != np.round(values))
    for i in np.flatnonzero(bad.to_numpy()):
        kind = "a whole number " if integer else "a number "
        col.row(int(i), name, f"{raw.iloc[i]} is not allowed", f"Use {kind}of at least {minimum:g}")
    if default is not None:
        values = values.where(~blank, default)
    frame[name] = values


def _fill_type_and_format(frame: pd.DataFrame, col: Collector) -> None:
    """Supply missing ``asset_type`` (``other``) and ``format`` (by type) columns, with a warning.

    Formats come from `planner.schema.DEFAULT_FORMAT_BY_TYPE` (e.g. a bus shelter is a
    6-sheet, a billboard a 48-sheet), ``other`` for an unlisted type.
    """
    if "asset_type" not in frame.columns:
        frame["asset_type"] = "other"
        col.file(
            "asset_type",
            "the file has no 'asset_type' column; every asset was set to 'other'",
            "Add the column, or give a default such as "
            "defaults={'asset_type': 'bus_stop'} (--default asset_type=bus_stop)",
            "warning",
        )
    if "format" not in frame.columns:
        types = normalise_vocabulary(frame["asset_type"], schema.ASSET_TYPES)
        frame["format"] = types.map(schema.DEFAULT_FORMAT_BY_TYPE).fillna("other")
        col.file(
            "format",
            "the file has no 'format' column; formats were assumed from the "
            "asset type (e.g. bus_shelter: 6-sheet, billboard: 48-sheet, lamp_column: "
            "banner)",
            "Add the column, or give a default such as defaults={'format': '6-sheet'}",
            "warning",
        )


def _check_assets(frame: pd.DataFrame, col: Collector) -> None:
    """Check and normalise every asset column of the contract except id and geometry.

    ``asset_type`` and ``format`` are normalised like site kinds (`normalise_vocabulary`:
    ``Bus Shelter`` and ``bus-shelter`` are ``bus_shelter``). An empty one is an error of
    its row; an unknown one a warning (`planner.policy.sites.check_sites_against_policy`
    stops a run whose policy scopes a rule by asset type). Defaults: ``faces`` 1,
    ``slots`` 6 (whole numbers >= 1); ``weekly_impacts`` and ``price_per_cycle`` are
    numbers >= 0, left NaN when blank (modelled or priced later).
    """
    _fill_type_and_format(frame, col)
    for name, known in (("asset_type", schema.ASSET_TYPES), ("format", schema.FORMATS)):
        frame[name] = normalise_vocabulary(frame[name], known)
        for i in np.flatnonzero((frame[name].isna() | (frame[name] == "")).to_numpy()):
            col.row(int(i), name, f"'{name}' is empty", f"Give every asset a {name}")
    _numeric(frame, "faces", col, minimum=1, integer=True, default=1)
    _numeric(frame, "slots", col, minimum=1, integer=True, default=6)
    _numeric(frame, "weekly_impacts", col, minimum=0, integer=False, default=None)
    _numeric(frame, "price_per_cycle", col, minimum=0, integer=False, default=None)
    _check_digital(frame, col)
    _check_status(frame, col)
    _vocabulary(frame, "asset_type", schema.ASSET_TYPES, col)
    _vocabulary(frame, "format", schema.FORMATS, col)


def _check_digital(frame: pd.DataFrame, col: Collector) -> None:
    """Read ``digital`` as bool: yes/no, true/false, 1/0, ``digital``/``classic``.

    A blank cell, like a missing column, takes the default of the asset's type and
    format: digital when its format is d6, d48, d96 or digital_screen, or its type is
    digital_screen (as any blank cell takes its column's default).
    """
    by_format = frame["format"].isin(_DIGITAL_FORMATS) | frame["asset_type"].eq(
        "digital_screen"
    ).fillna(False).astype(bool)
    if "digital" not in frame.columns:
        frame["digital"] = by_format
        return
    text = frame["digital"].astype("string").str.strip().str.lower().fillna("")
    blank = (text == "").to_numpy()
    known = text.isin(_TRUE | _FALSE)
    for i in np.flatnonzero((~known).to_numpy()):
        col.row(
            int(i),
            "digital",
            f"'{frame['digital'].iloc[i]}' is not yes/no",
            "Write true or false (yes/no, 1/0)",
        )
    frame["digital"] = np.where(
        blank, by_format.to_numpy(dtype=bool, na_value=False), text.isin(_TRUE).to_numpy(dtype=bool)
    )


def _check_status(frame: pd.DataFrame, col: Collector) -> None:
    """Check ``status`` is ``available`` or ``unavailable``; blank or missing is available."""
    if "status" not in frame.columns:
        frame["status"] = "available"
        return
    text = frame["status"].astype("string").str.strip().str.lower().fillna("available")
    text = text.where(text != "", "available")
    for i in np.flatnonzero((~text.isin(schema.STATUSES)).to_numpy()):
        col.row(
            int(i),
            "status",
            f"status '{text.iloc[i]}' is unknown",
            "Use 'available' or 'unavailable'",
        )
    frame["status"] = text


def _vocabulary(frame: pd.DataFrame, name: str, known: frozenset[str], col: Collector) -> None:
    """Warn once, naming up to 8 of them, about values outside a vocabulary; rows are kept."""
    values = frame[name]
    unknown = values.notna() & (values != "") & ~values.isin(known)
    if unknown.any():
        names = sorted(set(values[unknown].astype(str)))
        col.file(
            name,
            f"{int(unknown.sum())} row(s) have an unrecognised {name} "
            f"({', '.join(names[:8])}); they are kept",
            f"Known values: {', '.join(sorted(known))}",
            "warning",
        )


def _check_sites(frame: pd.DataFrame, col: Collector) -> None:
    """Require a ``kind`` per site; unknown kinds are kept with a warning listing them.

    A kind is stored lower-case; one that matches a known kind once spaces and dashes are
    read as ``_`` (``Place of worship``) is stored as that kind. Unknown kinds are a
    warning here, where no policy is at hand; `planner.policy.check_sites_against_policy`
    stops a run whose policy does not know them.
    """
    raw = frame["kind"].astype("string").str.strip()
    words = normalise_words(raw)
    frame["kind"] = words.where(words.isin(schema.SITE_KINDS), raw.str.lower())
    for i in np.flatnonzero((frame["kind"].isna() | (frame["kind"] == "")).to_numpy()):
        col.row(int(i), "kind", "'kind' is empty", "Give every site a kind such as school")
    unknown = frame["kind"].notna() & (frame["kind"] != "") & ~frame["kind"].isin(schema.SITE_KINDS)
    if unknown.any():
        counts = raw[unknown].value_counts()
        listing = ", ".join(f"'{v}' {n}" for v, n in counts.head(12).items())
        col.file(
            "kind",
            f"{int(unknown.sum())} site(s) have a kind no built-in rule knows ({listing}"
            f"{', ...' if len(counts) > 12 else ''}); an exclusion rule protects them only "
            "if its policy lists that kind",
            kind_map_fix(list(counts.index), schema.SITE_KINDS, col.mapped_kinds),
            "warning",
        )


#: Words councils use for a site kind, normalised (`_word`), and the kind they are.
_KIND_WORDS = {
    "kindergarten": "nursery",
    "preschool": "nursery",
    "pre_school": "nursery",
    "playgroup": "nursery",
    "creche": "nursery",
    "childcare": "nursery",
    "academy": "school",
    "primary": "school",
    "secondary": "school",
    "infant": "school",
    "junior": "school",
    "sixth_form": "college",
    "church": "place_of_worship",
    "chapel": "place_of_worship",
    "cathedral": "place_of_worship",
    "mosque": "place_of_worship",
    "synagogue": "place_of_worship",
    "temple": "place_of_worship",
    "gurdwara": "place_of_worship",
    "mandir": "place_of_worship",
    "play_area": "playground",
    "children_s_centre": "childrens_centre",
    "children_centre": "childrens_centre",
    "family_centre": "childrens_centre",
    "youth_club": "youth_centre",
    "sports_centre": "leisure_centre",
}


def _word(value: str) -> str:
    """Write a value as a vocabulary word: lower case, no apostrophes, other marks ``_``."""
    text = re.sub(r"['\u2019`]", "", str(value).strip().lower())
    return re.sub(r"[^a-z0-9]+", "_", text).strip("_")


def suggest_kind(value: str, known: frozenset[str] | tuple[str, ...]) -> str | None:
    """Guess the site kind a file's kind value means; None when nothing fits.

    Tried in order: the value itself as a word (``Children's centre`` is
    ``childrens_centre``), a word councils use for a kind (``kindergarten`` is a
    nursery), a plural (``schools``), a close spelling (difflib, ratio 0.85), then the
    last word of the value that is a kind (``Special schools`` is a school, ``University
    technical college`` a college). Only kinds in ``known`` are suggested; ``other``
    never is.

    Examples
    --------
    >>> [suggest_kind(v, schema.SITE_KINDS) for v in ["kindergarten", "Hospice", "Academies"]]
    ['nursery', None, 'school']
    """
    kinds = {k for k in known if k != "other"}

    def one(word: str) -> str | None:
        for candidate in (word, _KIND_WORDS.get(word), word.removesuffix("s")):
            if candidate in kinds:
                return candidate
        mapped = _KIND_WORDS.get(word.removesuffix("s")) or _KIND_WORDS.get(word[:-3] + "y")
        return mapped if mapped in kinds else None

    word = _word(value)
    if not word:
        return None
    found = one(word) or next(iter(difflib.get_close_matches(word, sorted(kinds), 1, 0.85)), None)
    if found:
        return found
    for token in reversed(word.split("_")):
        if len(token) > 2 and (found := one(token)):
            return found
    return None


def kind_map_fix(
    values: list, known: frozenset[str] | tuple[str, ...], mapped: dict[str, list[str]]
) -> str:
    """Say how to map unknown kind values, suggesting only values that are in the file.

    Parameters
    ----------
    values
        The unknown kind values as they now stand, commonest first.
    known
        The kinds a map may give (the policy's, or `planner.schema.SITE_KINDS`).
    mapped
        The caller's kind map read backwards (target: the file values mapped to it): a
        value that is a target of the map is not in the file, so the map's entry is what
        to change.

    Returns
    -------
    str
        The fix: a ``kinds={...}`` map (``--kind-map``) of file values to the kinds they
        most likely are (`suggest_kind`), or a placeholder when nothing fits, and the
        list of kinds.

    Examples
    --------
    >>> kind_map_fix(["schools"], schema.SITE_KINDS, {"schools": ["Academy"]})[:60]
    "Your kind map gives 'schools' (for 'Academy'), which is not "
    """
    wrong = [str(v) for v in values if str(v) in mapped]
    pairs: dict[str, str] = {}
    for value in [str(v) for v in values][:12]:
        source = mapped[value][0] if value in mapped else value
        guess = suggest_kind(value, known) or (
            suggest_kind(source, known) if source != value else None
        )
        if guess:
            pairs.setdefault(source, guess)
    text = ""
    if wrong:
        given = ", ".join(f"'{w}' (for {', '.join(repr(s) for s in mapped[w][:3])})" for w in wrong)
        text = f"Your kind map gives {given}, which is not a site kind: change the map's target. "
    if pairs:
        first, kind = next(iter(pairs.items()))
        text += f"Map each value to a site kind, e.g. kinds={pairs!r} (--kind-map '{first}={kind}')"
    else:
        first = mapped[str(values[0])][0] if str(values[0]) in mapped else str(values[0])
        text += (
            f"Map each value to the site kind it is, e.g. kinds={{{first!r}: 'KIND'}} "
            f"(--kind-map '{first}=KIND')"
        )
    return (
        text
        + ", or to 'other' to leave them unprotected on purpose. Known kinds: "
        + ", ".join(sorted(known))
    )


def normalise_words(values: pd.Series) -> pd.Series:
    """Vocabulary words as the contract writes them: lower case, spaces and dashes as ``_``.

    Examples
    --------
    >>> normalise_words(pd.Series(["Place of Worship", " bus-shelter"])).tolist()
    ['place_of_worship', 'bus_shelter']
    """
    text = values.astype("string").str.strip().str.lower()
    return text.str.replace(r"[\s\-]+", "_", regex=True)


def normalise_vocabulary(values: pd.Series, known: frozenset[str]) -> pd.Series:
    """Vocabulary values as the contract writes them: ``Bus Shelter`` is ``bus_shelter``.

    Each value is stripped and lower-cased; one that is a known word once spaces, ``_``
    and ``-`` are read as ``_`` (``bus-shelter``, ``BUS SHELTER``) or as ``-`` (``6 sheet``)
    becomes that word. Others stay lower-cased (and are warned of by the caller).

    Examples
    --------
    >>> normalise_vocabulary(pd.Series(["Bus Shelter", "6 Sheet", "Kiosk X"]),
    ...                      schema.ASSET_TYPES | schema.FORMATS).tolist()
    ['bus_shelter', '6-sheet', 'kiosk x']
    """
    text = values.astype("string").str.strip().str.lower()
    out = text.copy()
    for joiner in ("_", "-"):
        spelled = text.str.replace(r"[\s_\-]+", joiner, regex=True)
        fits = spelled.isin(known).fillna(False) & ~out.isin(known).fillna(False)
        out = out.where(~fits, spelled)
    return out


def map_kinds(values: pd.Series, kinds: dict[str, str]) -> pd.Series:
    """Apply a caller's map of kind values (``{"Special schools": "school"}``) to a column.

    Keys match ignoring case and surrounding spaces; values not in the map are returned
    unchanged (stripped).

    Examples
    --------
    >>> map_kinds(pd.Series(["Special schools "]), {"special schools": "school"}).tolist()
    ['school']
    """
    lookup = {str(k).strip().lower(): str(v).strip().lower() for k, v in kinds.items()}
    text = values.astype("string").str.strip()
    mapped = text.str.lower().map(lookup)
    return mapped.where(mapped.notna(), text).astype("string")


def _check_zones(frame: pd.DataFrame, col: Collector) -> None:
    """Require a ``population`` of at least 0 per zone (people, not necessarily whole)."""
    _numeric(frame, "population", col, minimum=0, integer=False, default=None)
    for i in np.flatnonzero(frame["population"].isna().to_numpy()):
        if i not in col.bad:
            col.row(
                int(i),
                "population",
                "population is empty",
                "Enter the zone's population (0 if nobody lives there)",
            )


#: The column checks of each kind of table: ``FIELD_CHECKS[kind](frame, col)``.
FIELD_CHECKS = {"assets": _check_assets, "sites": _check_sites, "zones": _check_zones}
