"""The `soundseek` command line: each subcommand maps to one plain function in a command module."""

from __future__ import annotations

import argparse
import importlib
import sys

from soundseek.errors import SoundseekError

#: Modules under soundseek.commands; each has `register(subparsers)` adding its subcommands, every
#: subcommand setting `func` (a function taking the parsed args and returning an exit code).
COMMAND_MODULES = ("core", "serve", "learn", "joint", "ingest")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="soundseek", description="Find sounds by words or by example, in your own recordings."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(f"soundseek.commands.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
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
