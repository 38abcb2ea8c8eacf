"""The sounds' words as SQLite's FTS5 index holds them: BM25 keyword search, the index's postings (for
search/keywords.py, which scores the same BM25 in memory), and SQLite's own tokenizer for query words.

FTS5's `bm25()` costs ~1.5-2 us per matching row (5 ms for a two-word query matching 3,750 of 250,000
sounds); the postings read here once per collection generation let a query cost a few array gathers.
Reading the postings and tokenizing through SQLite keep both paths on one tokenizer (`porter
unicode61`, schema.py), so they match the same sounds.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

import numpy as np

#: A temporary (per-connection) fts5vocab view of sound_text: one row per term occurrence.
_VOCAB = "CREATE VIRTUAL TABLE IF NOT EXISTS temp.soundseek_terms USING fts5vocab(main, sound_text, instance)"
#: A temporary FTS5 table with sound_text's tokenizer, and its vocabulary: a tokenizer for query words.
_TOKENIZER = ("CREATE VIRTUAL TABLE IF NOT EXISTS temp.soundseek_tokenizer USING fts5(words, "
              "tokenize='porter unicode61')")
_TOKENS = "CREATE VIRTUAL TABLE IF NOT EXISTS temp.soundseek_tokens USING fts5vocab(temp, soundseek_tokenizer, instance)"


@dataclass(frozen=True)
class Postings:
    """Every (term, sound) pair of the FTS5 index, grouped by term (terms sorted), sounds ascending."""

    generation: int
    n_docs: int             # rows of sound_text (sounds), FTS5's N
    terms: np.ndarray       # (t,) str, sorted
    starts: np.ndarray      # (t + 1,) int64: term i's postings are [starts[i], starts[i + 1])
    docs: np.ndarray        # (p,) int64 sound ids
    counts: np.ndarray      # (p,) int32 occurrences of the term in the sound's words


def keyword_search(conn: sqlite3.Connection, query: str, *, limit: int = 200) -> list[tuple[int, float]]:
    """BM25 keyword search over the sounds' words (an FTS5 query). Returns (sound_id, score >= 0,
    higher is better), best first; [] for an empty or malformed query."""
    if not query.strip():
        return []
    try:
        rows = conn.execute(
            "SELECT rowid, -bm25(sound_text) FROM sound_text WHERE sound_text MATCH ? ORDER BY bm25(sound_text)"
            " LIMIT ?", (query, limit)
        ).fetchall()
    except sqlite3.OperationalError:
        return []
    return [(int(r), float(s)) for r, s in rows]


def read_postings(conn: sqlite3.Connection) -> Postings:
    """The FTS5 index's postings and the collection generation they belong to, read in one transaction."""
    conn.execute(_VOCAB)
    own = not conn.in_transaction
    if own:
        conn.execute("BEGIN")
    try:
        generation = conn.execute("SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'generation'").fetchone()
        n_docs = int(conn.execute("SELECT count(*) FROM sound_text").fetchone()[0])
        rows = conn.execute("SELECT term, doc, count(*) FROM temp.soundseek_terms GROUP BY term, doc"
                            " ORDER BY term, doc").fetchall()
    finally:
        if own:
            conn.execute("COMMIT")
    return _postings(0 if generation is None else int(generation[0]), n_docs, rows)


def _postings(generation: int, n_docs: int, rows: list[tuple[str, int, int]]) -> Postings:
    if not rows:
        empty = np.zeros(0, dtype=np.int64)
        return Postings(generation, n_docs, np.zeros(0, dtype=str), np.zeros(1, dtype=np.int64), empty,
                        empty.astype(np.int32))
    terms_of, docs, counts = zip(*rows)
    all_terms = np.asarray(terms_of)
    first = np.flatnonzero(np.concatenate(([True], all_terms[1:] != all_terms[:-1])))
    starts = np.append(first, len(rows)).astype(np.int64)
    return Postings(generation, n_docs, all_terms[first], starts, np.asarray(docs, dtype=np.int64),
                    np.asarray(counts, dtype=np.int32))


def fts_tokens(conn: sqlite3.Connection, words: list[str]) -> list[list[str]]:
    """The terms FTS5 makes of each of `words` (lower-cased, accents folded, Porter-stemmed; a word
    with punctuation inside can give several), through a temporary table with sound_text's tokenizer."""
    if not words:
        return []
    conn.execute(_TOKENIZER)
    conn.execute(_TOKENS)
    out: list[list[str]] = [[] for _ in words]
    own = not conn.in_transaction
    try:
        conn.executemany("INSERT INTO temp.soundseek_tokenizer(rowid, words) VALUES (?, ?)",
                         [(i + 1, w) for i, w in enumerate(words)])
        for term, doc in conn.execute("SELECT term, doc FROM temp.soundseek_tokens ORDER BY doc, offset"):
            out[int(doc) - 1].append(term)
    finally:
        conn.execute("DELETE FROM temp.soundseek_tokenizer")
        if own and conn.in_transaction:
            conn.commit()
    return out
