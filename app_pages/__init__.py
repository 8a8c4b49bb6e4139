"""The app's pages (one file each) and their shared helpers (`state`, `ui`).

Not named ``pages/``: with a ``pages/`` folder beside ``app.py``, Streamlit runs a fresh
server's first request for a page URL (e.g. ``/plan``) in its old multipage mode, executing
the page file alone, without ``app.py`` and its defaults.
"""
