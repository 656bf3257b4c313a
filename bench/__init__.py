"""The benchmark of smbselect against a hand-written baseline (see bench/run.py and
docs/performance.md)."""
