"""Out-of-domain retrieval quality: sfx-dev and ESC-50 side by side, in one run.

Usage (each collection is the data set's audio folder indexed with `soundseek index`, YAMNet):
    python benchmarks/quality_ood.py --sfx ../shared/data/sfx-dev --sfx-collection /tmp/sfx_yam \
        --esc50 ../shared/data/esc50 --esc50-collection /tmp/esc_yam [--json OUT] [--markdown OUT] \
        [--text-encoder NAME [--text-encoder-config JSON]] [--query-encoder NAME [--query-encoder-config JSON]] \
        [--no-by-example]

`--text-encoder` embeds every text (queries, class phrases, sounds' words; default: the product's);
`--query-encoder` embeds the queries only (the engine's two-text query call, through the encoder's
`encode_query`: MiniLM's int8 query path by default), the stored texts staying with the text encoder.
`--no-by-example` skips setting (c), which does not depend on the text encoder.

For each library, three settings (the collections are copied; their audio is never re-embedded):
  (a) names hidden: every sound's words are removed; each query word ranks all sounds (text -> audio),
      mAP over the full ranking and P@10. sfx-dev: the 38 words of queries.txt, relevant = files whose
      tokens (words of the original file and folder name) contain the word. ESC-50: the 50 category
      names (underscores as spaces), relevant = that category.
  (b) half named: a deterministic half of the files (sha1 of the file name, even first byte) keeps its
      words (sfx-dev tokens, ESC-50 category); queries are scored on the other, hidden half only.
  (c) query by example: every sound with a query word queries the others (mAP, P@5); ESC-50 leaves out
      the query's own recording (`src_file`), as the ESC-50 protocol does.
Rows: the naive pipeline (nearest AudioSet class name by MiniLM -> its YAMNet score), the kNN baseline
(half named: the best YAMNet cosine to the named examples of the query word), and the product
(`SearchEngine.text_scores`, best segment per sound), with ablations of its components, and the product
as collections from 50k segments run it (scored on candidates only, search/candidates.py).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from soundseek.encoders import TextEncoder, build_text_encoder, encode_query
from soundseek.metrics import average_precision, precision_at_k
from soundseek.search import engine as engine_mod
from soundseek.search.engine import SearchEngine
from soundseek.store import DB_NAME, Collection


@dataclass
class Library:
    """A benchmark library: sound paths in the collection's order, their relevance words, their words."""

    name: str
    collection: Path
    paths: list[str]
    words: list[set[str]]      # relevance words of each sound
    texts: list[str]           # what a named sound is called (its words as a user would have them)
    groups: list[str]          # the recording each sound comes from (query by example leaves it out)
    queries: list[str]

    def relevant(self, query: str) -> np.ndarray:
        return np.asarray([query in w for w in self.words], dtype=bool)

    def named_half(self) -> np.ndarray:
        return np.asarray([hashlib.sha1(Path(p).name.encode()).digest()[0] % 2 == 0 for p in self.paths])


def load_sfx(root: Path, collection: Path) -> Library:
    rows = {r["file"]: r for r in csv.DictReader(open(root / "library.csv", newline="", encoding="utf-8"))}
    paths = _collection_paths(collection)
    names = [Path(p).name for p in paths]
    words = [set(rows[n]["tokens"].split()) for n in names]
    queries = [q.strip() for q in (root / "queries.txt").read_text().split() if q.strip()]
    return Library("sfx-dev", collection, paths, words, [rows[n]["tokens"] for n in names], names, queries)


def load_esc50(root: Path, collection: Path) -> Library:
    rows = {r["filename"]: r for r in csv.DictReader(open(root / "meta" / "esc50.csv", newline="", encoding="utf-8"))}
    paths = _collection_paths(collection)
    cats = [rows[Path(p).name]["category"].replace("_", " ") for p in paths]
    groups = [rows[Path(p).name]["src_file"] for p in paths]
    return Library("ESC-50", collection, paths, [{c} for c in cats], cats, groups, sorted(set(cats)))


def _collection_paths(collection: Path) -> list[str]:
    coll = Collection.open(collection)
    try:
        return [s.path for s in coll.sounds(limit=10**9)]
    finally:
        coll.close()


def copy_with_texts(lib: Library, texts: dict[str, str], into: Path) -> Collection:
    """A copy of the library's collection in which every sound's words are `texts` (default: none)."""
    into.mkdir(parents=True)
    shutil.copy(lib.collection / DB_NAME, into / DB_NAME)
    coll = Collection.open(into)
    coll.set_sound_texts({p: texts.get(p, "") for p in lib.paths})
    return coll


# -- rankings ----------------------------------------------------------------------------------
def per_sound_max(engine: SearchEngine, lib: Library, segment_scores: np.ndarray) -> np.ndarray:
    """Best segment score of each sound, aligned with lib.paths. Returns (n_sounds,)."""
    out = np.full(len(engine.table.sounds), -np.inf, dtype=np.float64)
    np.maximum.at(out, engine.table.sound_rows, segment_scores)
    by_path = dict(zip(engine.table.paths[np.unique(engine.table.sound_rows, return_index=True)[1]], out))
    return np.asarray([by_path.get(p, -np.inf) for p in lib.paths])


def naive_scores(engine: SearchEngine, query: str) -> np.ndarray:
    """Nearest AudioSet class name by MiniLM, then that class's YAMNet probability per segment."""
    best = int(np.argmax(engine.matcher.similarities(engine.query_vector(query))))
    return np.expm1(engine.class_scores[best].astype(np.float64))  # undo log(1 + p / eps): monotone


def knn_named_scores(engine: SearchEngine, lib: Library, query: str, named: np.ndarray) -> np.ndarray:
    """Best cosine of each segment to any segment of a named sound whose words hold the query."""
    examples = np.flatnonzero(named & lib.relevant(query))
    if not len(examples):
        return np.zeros(len(engine.table))
    paths = {lib.paths[i] for i in examples}
    mask = np.asarray([p in paths for p in engine.table.paths])
    vectors = engine.coll.vectors_for(engine.space, [int(i) for i in engine.table.ids])
    return (vectors @ vectors[mask].T).max(axis=1)


def evaluate(lib: Library, scores_of: Callable[[str], np.ndarray], *, scope: np.ndarray | None = None,
             k: int = 10) -> dict[str, float]:
    """mAP and P@k over the library's queries; `scope` limits the ranked sounds (and the relevant ones)."""
    scope = np.ones(len(lib.paths), dtype=bool) if scope is None else scope
    aps, pks = [], []
    for query in lib.queries:
        rel = lib.relevant(query)[scope]
        if not rel.any():
            continue
        order = np.argsort(-scores_of(query)[scope], kind="stable")
        aps.append(average_precision(rel[order]))
        pks.append(precision_at_k(rel[order], k))
    return {"mAP": float(np.mean(aps)), f"P@{k}": float(np.mean(pks)), "queries": len(aps)}


def query_by_example(engine: SearchEngine, lib: Library) -> dict[str, float]:
    """Every sound with a query word queries the others by its whole-file embedding (the product's path)."""
    vectors = engine.coll.vectors_for(engine.space, [int(i) for i in engine.table.ids])
    aps, p5 = [], []
    groups = np.asarray(lib.groups, dtype=object)
    for i, path in enumerate(lib.paths):
        words = lib.words[i] & set(lib.queries)
        if not words:
            continue
        qvec = engine.embed_query_audio(path)
        scores = per_sound_max(engine, lib, vectors @ qvec)
        keep = groups != groups[i]
        rel = np.asarray([bool(words & w) for w in lib.words])[keep]
        if not rel.any():
            continue
        order = np.argsort(-scores[keep], kind="stable")
        aps.append(average_precision(rel[order]))
        p5.append(precision_at_k(rel[order], 5))
    return {"mAP": float(np.mean(aps)), "P@5": float(np.mean(p5)), "queries": len(aps)}


# -- the run -----------------------------------------------------------------------------------
ABLATIONS: dict[str, dict[str, float]] = {
    "product": {},
    "product without feedback": {"FEEDBACK_WEIGHT": 0.0},
    "product without the library model": {"LIBRARY_WEIGHT": 0.0},
}


def product_scores(engine: SearchEngine, lib: Library, overrides: dict[str, float]) -> Callable[[str], np.ndarray]:
    def scores(query: str) -> np.ndarray:
        saved = {k: getattr(engine_mod, k) for k in overrides}
        try:
            for key, value in overrides.items():
                setattr(engine_mod, key, value)
            return per_sound_max(engine, lib, engine.text_scores(query))
        finally:
            for key, value in saved.items():
                setattr(engine_mod, key, value)
    return scores


class QueryOnly:
    """Embeds the engine's queries (what it asks of encode_query) with `query`, every other text with
    `stored`: a query encoder measured on its own, the stored vectors unchanged."""

    normalized = True

    def __init__(self, stored: TextEncoder, query: TextEncoder) -> None:
        if stored.dim != query.dim:
            raise SystemExit(f"the query encoder's dim {query.dim} differs from the text encoder's {stored.dim}")
        self.stored, self.query = stored, query
        self.name, self.dim = f"{stored.name}+{query.name}", stored.dim

    def encode_text(self, texts: list[str]) -> np.ndarray:
        return self.stored.encode_text(texts)

    def encode_query(self, texts: list[str]) -> np.ndarray:
        return encode_query(self.query, texts)


CANDIDATES_ROW = "product, candidates only (the path from 50k segments)"


def candidate_scores(engine: SearchEngine, lib: Library) -> Callable[[str], np.ndarray]:
    """The product as large collections run it (search/candidates.py): segments no source proposes are
    not scored at all (ranked last here)."""
    def scores(query: str) -> np.ndarray:
        scored = engine.text_candidates(query)
        dense = np.full(len(engine.table), -np.inf, dtype=np.float32)
        dense[scored.rows] = scored.scores
        return per_sound_max(engine, lib, dense)
    return scores


def run_library(lib: Library, work: Path, text_encoder: TextEncoder | None = None,
                by_example: bool = True) -> dict[str, dict[str, dict[str, float]]]:
    out: dict[str, dict[str, dict[str, float]]] = {"names hidden": {}, "half named (hidden half)": {}}
    hidden = SearchEngine(copy_with_texts(lib, {}, work / f"{lib.name}-hidden"), text_encoder=text_encoder)
    out["names hidden"]["naive: nearest class name"] = evaluate(
        lib, lambda q: per_sound_max(hidden, lib, naive_scores(hidden, q)))
    for row, overrides in ABLATIONS.items():
        out["names hidden"][row] = evaluate(lib, product_scores(hidden, lib, overrides))
    out["names hidden"][CANDIDATES_ROW] = evaluate(lib, candidate_scores(hidden, lib))
    named = lib.named_half()
    texts = {p: t for p, t, n in zip(lib.paths, lib.texts, named) if n}
    half = SearchEngine(copy_with_texts(lib, texts, work / f"{lib.name}-half"), text_encoder=text_encoder)
    scope = ~named
    out["half named (hidden half)"]["naive: nearest class name"] = evaluate(
        lib, lambda q: per_sound_max(half, lib, naive_scores(half, q)), scope=scope)
    out["half named (hidden half)"]["kNN from named examples"] = evaluate(
        lib, lambda q: per_sound_max(half, lib, knn_named_scores(half, lib, q, named)), scope=scope)
    for row, overrides in ABLATIONS.items():
        out["half named (hidden half)"][row] = evaluate(lib, product_scores(half, lib, overrides), scope=scope)
    out["half named (hidden half)"][CANDIDATES_ROW] = evaluate(lib, candidate_scores(half, lib), scope=scope)
    if by_example:
        out["query by example"] = {"product (YAMNet cosine, best segment)": query_by_example(hidden, lib)}
    return out


def markdown(results: dict[str, dict]) -> str:
    libs = list(results)
    lines = []
    for setting in results[libs[0]]:
        lines += [f"\n**{setting}**\n", "| row | " + " | ".join(f"{lib} mAP | {lib} P@k" for lib in libs) + " |",
                  "|---|" + "---:|---:|" * len(libs)]
        rows = dict.fromkeys(r for lib in libs for r in results[lib][setting])
        for row in rows:
            cells = []
            for lib in libs:
                got = results[lib][setting].get(row)
                pk = next((v for k, v in (got or {}).items() if k.startswith("P@")), None)
                cells += [f"{got['mAP']:.3f}" if got else "", f"{pk:.3f}" if pk is not None else ""]
            lines.append(f"| {row} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def chosen_text_encoder(args: argparse.Namespace) -> TextEncoder | None:
    """The encoder the engines get (None: the product's default), per --text-encoder / --query-encoder."""
    if args.text_encoder is None and args.query_encoder is None:
        return None
    stored = build_text_encoder(args.text_encoder or "minilm", args.text_encoder_config)
    if args.query_encoder is None:
        return stored
    return QueryOnly(stored, build_text_encoder(args.query_encoder, args.query_encoder_config))  # type: ignore[return-value]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sfx", type=Path, required=True)
    ap.add_argument("--sfx-collection", type=Path, required=True)
    ap.add_argument("--esc50", type=Path, required=True)
    ap.add_argument("--esc50-collection", type=Path, required=True)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--markdown", type=Path)
    ap.add_argument("--text-encoder", help="registered text encoder for every text (default: the product's)")
    ap.add_argument("--text-encoder-config", type=json.loads, default={}, help="its config, a JSON object")
    ap.add_argument("--query-encoder", help="registered text encoder for the queries only")
    ap.add_argument("--query-encoder-config", type=json.loads, default={}, help="its config, a JSON object")
    ap.add_argument("--no-by-example", action="store_true", help="skip query by example (no text involved)")
    args = ap.parse_args()
    started = time.perf_counter()
    encoder = chosen_text_encoder(args)
    libs = [load_sfx(args.sfx, args.sfx_collection), load_esc50(args.esc50, args.esc50_collection)]
    with tempfile.TemporaryDirectory() as tmp:
        results = {lib.name: run_library(lib, Path(tmp), encoder, not args.no_by_example) for lib in libs}
    table = markdown(results)
    print(table)
    print(f"{time.perf_counter() - started:.0f} s", file=sys.stderr)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n")
    if args.markdown:
        args.markdown.write_text(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
