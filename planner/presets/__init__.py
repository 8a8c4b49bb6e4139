"""Bundled presets: ethical-use policies, rate cards and concession terms, as package data.

The TOML files live in ``planner/presets/<kind>/<name>.toml`` and travel inside the wheel,
so an installed planner finds them without the repository (read with `importlib.resources`).
"""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable

__all__ = ["KINDS", "preset_file", "preset_names"]

#: The kinds of preset, each a folder of TOML files.
KINDS = ("policies", "rates", "terms")


def preset_names(kind: str) -> list[str]:
    """List the names of the bundled presets of one kind.

    Parameters
    ----------
    kind
        ``"policies"``, ``"rates"`` or ``"terms"``.

    Returns
    -------
    list of str
        Sorted preset names (file names without ``.toml``), e.g. ``['demo', 'uk-default']``.

    Raises
    ------
    ValueError
        When `kind` is not one of `KINDS`.

    Examples
    --------
    >>> preset_names("policies")
    ['climate', 'healthier-advertising', 'transport-authority', 'uk-cap-code']
    """
    folder = _folder(kind)
    return sorted(p.name[: -len(".toml")] for p in folder.iterdir() if p.name.endswith(".toml"))


def preset_file(kind: str, name: str) -> Traversable | None:
    """Find the bundled TOML file of a preset, or None when there is no such preset.

    Parameters
    ----------
    kind
        ``"policies"``, ``"rates"`` or ``"terms"``.
    name
        Preset name, e.g. ``"uk-cap-code"``.

    Returns
    -------
    importlib.resources.abc.Traversable or None
        The file (read it with ``.read_text(encoding="utf-8")``), or None if absent.

    Raises
    ------
    ValueError
        When `kind` is not one of `KINDS`.

    Examples
    --------
    >>> preset_file("policies", "uk-cap-code").name
    'uk-cap-code.toml'
    >>> preset_file("rates", "no-such-card") is None
    True
    """
    path = _folder(kind) / f"{name}.toml"
    return path if path.is_file() else None


def _folder(kind: str) -> Traversable:
    """Return the package-data folder of one kind, refusing any other name (no path tricks)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}; got {kind!r}")
    return files(__name__) / kind
