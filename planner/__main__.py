"""Entry point for ``python -m planner``."""

from planner.cli import main

if __name__ == "__main__":  # worker processes (Dask, multiprocessing) re-import this module
    raise SystemExit(main())
