"""`soundseek demo`: synthesize a labelled library, index it, and show what search does with sound.

The library has named takes of every kind (`<kind>/<kind>_takeN.wav`) and one more take of each kind
under a name that says nothing, as a field recorder names them (`ZOOM0001.WAV`, ...; no words at all). Text hits say whether they were found by their name or by their audio; query by example
starts from an unnamed clip (it works with any encoder); the closing lines say how to get the full
experience when YAMNet is not installed.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

from soundseek.audio.synth import KINDS, SR, make_sound
from soundseek.commands.output import hits_table, table
from soundseek.indexer import index_paths, open_for_indexing

TAKES = 4
UNNAMED = "ZOOM"
TEXT_QUERIES = ("bell ringing", "siren", "rain on a roof", "birds singing", "telephone", "people clapping",
                "ticking clock", "thunderstorm")


def write_library(folder: Path, *, takes: int = TAKES, unnamed: bool = False) -> list[Path]:
    """Write `takes` takes of every kind as 16-bit WAV under folder/<kind>/, and with `unnamed` one more
    take of each as folder/ZOOM00NN.WAV (kinds in a fixed shuffled order). Returns the paths."""
    paths = []
    for k, kind in enumerate(KINDS):
        for take in range(1, takes + 1):
            paths.append(_write(folder / kind / f"{kind}_take{take}.wav", make_sound(kind, seed=1000 * k + take)))
    if unnamed:
        for n, k in enumerate(np.random.default_rng(7).permutation(len(KINDS)), 1):
            kind = list(KINDS)[k]
            paths.append(_write(folder / f"{UNNAMED}{n:04d}.WAV", make_sound(kind, seed=1000 * k + 99)))
    return paths


def _write(path: Path, wave: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), wave, SR, subtype="PCM_16")
    return path


def unnamed_kind(path: Path) -> str:
    """What an unsorted clip really is (the demo knows; search does not)."""
    k = np.random.default_rng(7).permutation(len(KINDS))[int(path.stem[len(UNNAMED):]) - 1]
    return list(KINDS)[k]


def run_demo(folder: Path | None, *, encoder: str | None = None, quiet: bool = False) -> int:
    """Build the demo library and collection under `folder` (a temp dir when None) and search it."""
    folder = folder or Path(tempfile.mkdtemp(prefix="soundseek-demo-"))
    library, coll_dir = folder / "library", folder / "collection"
    paths = write_library(library, unnamed=True)
    print(f"demo library: {len(paths)} sounds in {library}: {TAKES} named takes of each of {len(KINDS)} kinds, "
          f"and {len(KINDS)} more named like a field recorder's files, {UNNAMED}0001.WAV..{UNNAMED}{len(KINDS):04d}.WAV "
          "(no words)")
    coll, enc = open_for_indexing(coll_dir, encoder, None)
    report = index_paths(coll, [library], enc, quiet=quiet)
    from soundseek.search.library import learn_from_library

    learnt = learn_from_library(coll)
    print(f"indexed {report.added + report.updated} sounds with '{enc.name}' ({report.audio_seconds:.0f} s of "
          f"audio in {report.wall_seconds:.1f} s) into {coll_dir}\n{learnt}\n")
    from soundseek.search.engine import SearchEngine

    engine = SearchEngine(coll, audio_encoder=enc)
    _text_searches(engine)
    _example_search(engine, library)
    print(_closing(enc.name, coll_dir))
    return 0


def _text_searches(engine) -> None:  # type: ignore[no-untyped-def]
    from soundseek.search.explain import hit_sources

    print("Text search. 'found by' says what matched: the sound's name (its file and folder words), or its "
          "audio\n(what the encoder hears, and what the named sounds taught about the unnamed ones).\n")
    for query in TEXT_QUERIES:
        hits = engine.search_text(query, top=5)
        sources = hit_sources(engine, query, hits)
        print(f'$ soundseek search "{query}" --top 5')
        rows = [(f"{i}", f"{h.relevance:.2f}" if h.relevance is not None else "", _label(h.path), s or "-",
                 ", ".join(h.tags[:2])) for i, (h, s) in enumerate(zip(hits, sources), 1)]
        print(table(rows, ("#", "relevance", "file", "found by", "tags")) + "\n")


def _label(path: str) -> str:
    p = Path(path)
    return f"{p.name}  (really {unnamed_kind(p)})" if p.name.startswith(UNNAMED) else f"{p.parent.name}/{p.name}"


def _example_search(engine, library: Path) -> None:  # type: ignore[no-untyped-def]
    from soundseek.search.describe import describe

    example = sorted(library.glob(f"{UNNAMED}*.WAV"))[0]
    print(f"Query by example: {example.name} has a name that says nothing (it is really "
          f"{unnamed_kind(example)}); its sound finds its kind.\n")
    print(f"$ soundseek search --audio {example.name} --top 3")
    print(hits_table(engine.search_audio(example, top=3)) + "\n")
    print(f"$ soundseek describe {example.name}   (audio -> words: from its nearest named neighbours)")
    print(table([(s.source, s.text, s.score) for s in describe(engine, example, top=5)], ("source", "suggestion", "score")))


def _closing(encoder: str, coll_dir: Path) -> str:
    lines = ["", "Try it yourself:",
             f"  soundseek search \"water\" --collection {coll_dir}",
             f"  soundseek search --audio {coll_dir.parent}/library/rain/rain_take1.wav \"thunder\" --collection {coll_dir}"
             "   (like this, but thunder)",
             f"  soundseek serve --collection {coll_dir}   (the web page: audition, sort, export)"]
    if encoder != "yamnet":
        lines = ["", f"You saw the fallback: YAMNet is not installed, so this demo indexed with '{encoder}' features.",
                 "Text search could read only the sounds' names, and what the named sounds taught about the",
                 "unnamed ones; there are no tags. For the full experience (text search by listening: AudioSet",
                 "tags, unnamed sounds found by what they sound like):",
                 "  soundseek models pull yamnet      (or: soundseek models add yamnet FILES...)",
                 "  soundseek demo"] + lines
    return "\n".join(lines)
