"""The `learn` subcommand: train the self-supervised (Cochlea-style) encoder on unlabelled audio."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from soundseek.errors import SoundseekError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("learn", help="train a self-supervised audio encoder on your own recordings (no labels)",
                       description=LEARN_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("paths", nargs="*", type=Path, help="folders/files of recordings to learn from")
    p.add_argument("--collection", type=Path, help="learn from the sounds of this collection instead")
    p.add_argument("--out", type=Path, required=True, help="model directory to write (use with --encoder ssl)")
    p.add_argument("--steps", type=int, default=400, help="optimisation steps (default 400)")
    p.add_argument("--batch-size", type=int, default=64, help="anchor/positive pairs per step (default 64)")
    p.add_argument("--dim", type=int, default=128, help="embedding dimension (default 128)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1: on a busy 2-core machine 2 threads were 1.7x slower)")
    p.add_argument("--max-seconds", type=float, default=120.0, help="use at most this much of each file (s, default 120)")
    p.add_argument("--resume", action="store_true", help="continue from --out/checkpoint.pt (default: refuse an --out that holds a model)")
    for name in ("pitch", "stretch", "proximity", "noise", "mixture"):
        p.add_argument(f"--no-{name}", action="store_true", help=f"switch the {name} deformation off (default: on)")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=cmd_learn)


LEARN_DESCRIPTION = """\
Learn audio embeddings from your own recordings, with no labels and no pretrained model (Cochlea-style
triplets: a clip, a deformed copy of it as the positive, another clip as the negative). The deformations
are pitch shift, time stretch, proximity (a nearby part of the same file), noise and mixture.

Then index with it:  soundseek index FOLDER --encoder ssl --encoder-config model_dir=OUT

Give it at least MIN_MINUTES minutes of audio in MIN_FILES or more files; with less, `learn` warns: the
network then learns those few files rather than what makes sounds alike."""
#: Below either, the recordings are too few to learn anything general (a warning, not an error).
MIN_MINUTES = 10.0
MIN_FILES = 20
LEARN_DESCRIPTION = LEARN_DESCRIPTION.replace("MIN_MINUTES", f"{MIN_MINUTES:g}").replace("MIN_FILES", str(MIN_FILES))


def small_data_warning(seconds: list[float]) -> str | None:
    """A warning when the recordings are too few or too short to learn from, else None."""
    minutes = sum(seconds) / 60
    if minutes >= MIN_MINUTES and len(seconds) >= MIN_FILES:
        return None
    return (f"little to learn from: {len(seconds)} recordings, {minutes:.1f} min (at least {MIN_FILES} files and "
            f"{MIN_MINUTES:g} min are advised); the encoder will fit these files rather than sounds in general")


def _source_paths(args: argparse.Namespace) -> list[Path]:
    if args.collection:
        from soundseek.store import Collection
        coll = Collection.open(args.collection)
        try:
            return [Path(s.path) for s in coll.sounds(limit=10**9)]
        finally:
            coll.close()
    if not args.paths:
        raise SoundseekError("give folders/files to learn from, or --collection DIR")
    from soundseek.library.scan import scan
    return [found.path for found in scan(list(args.paths))]


def cmd_learn(args: argparse.Namespace) -> int:
    from soundseek.encoders.ssl_net import ModelConfig
    from soundseek.ssl.train import LearnConfig, load_recordings, train
    from soundseek.ssl.triplets import DEFORMATIONS

    kept = tuple(d for d in DEFORMATIONS if not getattr(args, f"no_{d}"))
    if not kept:
        raise SoundseekError("switch at least one deformation on")
    if args.out.exists() and (args.out / "checkpoint.pt").exists() and not args.resume:
        raise SoundseekError(f"{args.out} already holds a model: pass --resume to continue it, or pick another --out")
    waves, problems = load_recordings(_source_paths(args), max_seconds=args.max_seconds)
    for problem in problems:
        print(f"skipped {problem}", file=sys.stderr)
    if not waves:
        raise SoundseekError("no readable recordings to learn from")
    warning = small_data_warning([len(w) / 16000 for w in waves])
    if warning:
        print(f"soundseek: warning: {warning}", file=sys.stderr)
    config = LearnConfig(steps=args.steps, batch_size=args.batch_size, seed=args.seed, deformations=kept,
                         num_threads=args.threads, model=ModelConfig(dim=args.dim))
    if not args.quiet:
        print(f"learning from {len(waves)} recordings ({sum(map(len, waves)) / 16000 / 60:.1f} min), "
              f"deformations: {', '.join(kept)}", file=sys.stderr)
    result = train(waves, args.out, config, resume=args.resume, progress=not args.quiet)
    print(f"wrote {result.model_dir} ({result.steps_done} steps, final loss {result.final_loss:.3f}); index with: "
          f"soundseek index FOLDER --encoder ssl --encoder-config model_dir={result.model_dir}")
    return 0
