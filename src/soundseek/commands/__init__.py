"""Subcommand modules of the CLI (see soundseek.cli)."""
