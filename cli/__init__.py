"""The cowopt command-line interface (installed as cowopt.cli)."""
