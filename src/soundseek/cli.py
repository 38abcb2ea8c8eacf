"""The `soundseek` command line: each subcommand maps to one plain function in a command module."""

from __future__ import annotations

import argparse
import importlib
import sys

from soundseek.errors import SoundseekError

#: Modules under soundseek.commands; each has `register(subparsers)` adding its subcommands, every
#: subcommand setting `func` (a function taking the parsed args and returning an exit code).
COMMAND_MODULES = ("core", "serve", "learn", "joint", "ingest")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; `command` (the subcommand about to run, when known) lets the joint-space commands
    skip options whose defaults need torch when another command runs."""
    parser = argparse.ArgumentParser(
        prog="soundseek", description="Find sounds by words or by example, in your own recordings."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"soundseek.commands.{name}")
        if name == "joint":
            module.register(sub, training_options=command is None or command in module.COMMANDS)
        else:
            module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    command = next((a for a in argv if not a.startswith("-")), None)
    args = build_parser(command).parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except SoundseekError as exc:
        print(f"soundseek: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("soundseek: interrupted (everything committed so far is kept)", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
