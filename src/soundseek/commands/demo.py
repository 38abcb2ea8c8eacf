"""`soundseek demo`: synthesize a labelled library, index it, and show text and audio searches."""

from __future__ import annotations

import tempfile
from pathlib import Path

import soundfile as sf

from soundseek.audio.synth import KINDS, SR, make_sound
from soundseek.commands.output import hits_table, table
from soundseek.indexer import index_paths, open_for_indexing

TAKES = 4
TEXT_QUERIES = ("bell ringing", "siren", "rain on a roof", "birds singing", "telephone", "people clapping",
                "ticking clock", "thunderstorm")


def write_library(folder: Path, *, takes: int = TAKES) -> list[Path]:
    """Write TAKES takes of every kind as 16-bit WAV under folder/<kind>/. Returns the paths."""
    paths = []
    for k, kind in enumerate(KINDS):
        for take in range(1, takes + 1):
            path = folder / kind / f"{kind}_take{take}.wav"
            path.parent.mkdir(parents=True, exist_ok=True)
            sf.write(str(path), make_sound(kind, seed=1000 * k + take), SR, subtype="PCM_16")
            paths.append(path)
    return paths


def run_demo(folder: Path | None, *, encoder: str | None = None, quiet: bool = False) -> int:
    """Build the demo library and collection under `folder` (a temp dir when None) and search it."""
    if folder is None:
        folder = Path(tempfile.mkdtemp(prefix="soundseek-demo-"))
    library, coll_dir = folder / "library", folder / "collection"
    paths = write_library(library)
    print(f"demo library: {len(paths)} sounds of {len(KINDS)} kinds in {library}")
    coll, enc = open_for_indexing(coll_dir, encoder, None)
    report = index_paths(coll, [library], enc, quiet=quiet)
    print(f"indexed {report.added + report.updated} sounds with '{enc.name}' "
          f"({report.audio_seconds:.0f} s of audio in {report.wall_seconds:.1f} s) into {coll_dir}\n")
    from soundseek.search.engine import SearchEngine

    engine = SearchEngine(coll, audio_encoder=enc)
    for query in TEXT_QUERIES:
        print(f'$ soundseek search "{query}" --top 3')
        print(hits_table(engine.search_text(query, top=3)) + "\n")
    example = paths[len(paths) // 2]
    print(f"$ soundseek search --audio {example.name} --top 3   (query by example)")
    print(hits_table(engine.search_audio(example, top=3)) + "\n")
    from soundseek.search.describe import describe

    print(f"$ soundseek describe {example.name}   (audio -> text)")
    print(table([(s.source, s.text, s.score) for s in describe(engine, example, top=5)], ("source", "suggestion", "score")))
    print(f"\nTry it yourself: soundseek search \"water\" --collection {coll_dir}")
    return 0
