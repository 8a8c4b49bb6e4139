"""The app's pages (one file each) and their shared helpers (`state`, `ui`)."""
