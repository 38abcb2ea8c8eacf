"""Search a collection: text -> audio, audio -> audio (query by example), audio -> text (describe).

Text search adds up to five evidence sources into one score per segment, each scaled to [0, 1]:
zero-shot AudioSet class scores (see zeroshot.py), pseudo-relevance feedback (the centroid of the
best zero-shot segments' class-score vectors), BM25 keyword hits on the sounds' own words, the
semantic similarity of the query to those words, and the joint space when a trained model is attached.
A file's score is the best of its segments; a hit is that file with its best segment's times.
Query by example and "more like this" are audio_queries.py's mixin.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np

from soundseek.encoders import (
    AudioEncoder,
    TextEncoder,
    build_audio_encoder,
    build_text_encoder,
)
from soundseek.encoders.base import encode_query, l2_normalize
from soundseek.errors import QueryError
from soundseek.memory import release_free_memory
from soundseek.search.audio_queries import AudioQueries
from soundseek.search.candidates import CANDIDATES_FROM
from soundseek.search.filters import Filters, filter_mask
from soundseek.search.hits import Hit, best_sounds, hits_at, narrow_to_events, top_order, with_moments
from soundseek.search.keywords import KeywordIndex, per_sound_scores
from soundseek.search.query import blas_single_thread as _blas_single_thread
from soundseek.search.query import check_text as _check_text
from soundseek.search.query import fts_query as _fts_query
from soundseek.search.query import fts_words as _fts_words
from soundseek.search.query import unit as _unit
from soundseek.search.relevance import TextEvidence
from soundseek.search.state import SearchState, SegmentTable, load_search_state
from soundseek.search.zeroshot import (
    CLASS_TEMPLATE,
    ClassNameMatcher,
    ZeroShotConfig,
    score_segments,
)
from soundseek.store import Collection

if TYPE_CHECKING:
    from soundseek.joint.saved import JointModel
    from soundseek.search.candidate_lists import TextLists
    from soundseek.search.candidates import CandidateScores
    from soundseek.search.library import LibraryModel

#: Weights of the evidence sources in text search (each source is first scaled to [0, 1]).
FEEDBACK_WEIGHT = 1.0
KEYWORD_WEIGHT = 1.0
FEEDBACK_TOP = 10
FEEDBACK_POOL = 1000
TEXT_SIMILARITY_WEIGHT = 1.0
#: Weight of each of the library model's two scorers (ridge map, semantic kNN), for wordless sounds.
LIBRARY_WEIGHT = 1.0
#: Cosine similarity between a query and a sound's words below which the words count as unrelated.
TEXT_SIMILARITY_FLOOR = 0.3


class SearchEngine(AudioQueries):
    """Everything needed to answer queries on one collection; build once, query many times."""

    def __init__(self, coll: Collection, *, text_encoder: TextEncoder | None = None,
                 audio_encoder: AudioEncoder | None = None, joint_model: JointModel | None = None,
                 state: SearchState | None = None, text_path: str = "auto") -> None:
        """text_path: "auto" (candidates from CANDIDATES_FROM segments on), "exact" or "candidates"."""
        if text_path not in ("auto", "exact", "candidates"):
            raise ValueError(f"text_path must be auto, exact or candidates (got {text_path!r})")
        self.text_path = text_path
        self.coll = coll
        self.space = coll.audio_encoder
        self.class_names = coll.class_names
        state = state or load_search_state(coll, self.space, self.class_names)
        self.table: SegmentTable = state.table
        self.index = state.index
        #: 8-bit log class scores of every segment (see class_codes.py), or None without a classifier.
        self.class_codes = state.class_scores
        self._class_major: np.ndarray | None = None
        self._audio_encoder = audio_encoder
        self._text_encoder = text_encoder
        self._matcher: ClassNameMatcher | None = None
        self._sound_text_vectors: np.ndarray | None = None
        self._sound_text_rows = np.zeros(0, dtype=np.int64)
        self._library: LibraryModel | None | str = None
        self._text_lists: TextLists | None = None
        self._keywords: KeywordIndex | None = None
        self.joint_model = joint_model
        self.joint_index = None
        if joint_model is not None and len(self.table):
            from soundseek.search.joint import ensure_joint_vectors
            self.joint_index = ensure_joint_vectors(coll, joint_model, self.table)

    def reopened(self) -> "SearchEngine":
        """The same engine over the collection as it is now: a new connection and search state, the
        encoders, joint model and class matcher kept."""
        fresh = SearchEngine(Collection.open(self.coll.root), text_encoder=self._text_encoder,
                             audio_encoder=self._audio_encoder, joint_model=self.joint_model, text_path=self.text_path)
        if fresh.class_names == self.class_names:
            fresh._matcher = self._matcher
        return fresh

    # -- lazily built components ---------------------------------------------------------------
    @property
    def class_scores(self) -> np.ndarray | None:
        """Class-major (C, n) float32 log class scores, or None: the exact text path reads a few whole
        class rows (built on first use; candidate search on a large collection never needs it)."""
        if self._class_major is None and self.class_codes is not None:
            self._class_major = self.class_codes.class_major()
        return self._class_major

    @property
    def text_encoder(self) -> TextEncoder:
        if self._text_encoder is None:
            self._text_encoder = build_text_encoder("minilm")
        return self._text_encoder

    @property
    def audio_encoder(self) -> AudioEncoder:
        if self._audio_encoder is None:
            self._audio_encoder = build_audio_encoder(self.space, self.coll.audio_encoder_config)
        return self._audio_encoder

    @property
    def matcher(self) -> ClassNameMatcher | None:
        if self._matcher is None and self.class_names:
            from soundseek.search.state import cached_text_vectors
            from soundseek.search.zeroshot import class_phrases

            phrases = class_phrases(self.class_names, CLASS_TEMPLATE)[0]
            self._matcher = ClassNameMatcher(self.class_names, self.text_encoder, ZeroShotConfig(template=CLASS_TEMPLATE),
                                             phrase_vectors=cached_text_vectors(self.coll, "class_phrases", phrases,
                                                                                self.text_encoder))
        return self._matcher

    @property
    def library(self) -> LibraryModel | None:
        """The model learnt from the collection's own words (None when there is too little to learn)."""
        if self._library is None:
            from soundseek.search.library import refresh_library_model
            self._library = refresh_library_model(self.coll, self.table, self.text_encoder) if len(self.table) else "empty"
        return None if isinstance(self._library, str) else self._library

    # -- text -> audio -------------------------------------------------------------------------
    @_blas_single_thread
    def search_text(self, query: str, *, top: int = 10, offset: int = 0, filters: Filters | None = None) -> list[Hit]:
        """Rank files for a text query (see the module docstring for the scoring); each hit carries its
        calibrated relevance (see search/relevance.py). Large collections score candidates only
        (search/candidates.py) unless `text_path` is "exact"."""
        query = _check_text(query)
        hits = self._search_candidates(query, top, offset, filters) if self._use_candidates() else None
        if hits is not None:
            return hits
        evidence = self.text_evidence(query)
        scores = evidence.total
        scores[scores <= 0] = -np.inf  # no evidence at all is no hit
        hits = self._rank(scores, top=top, offset=offset, filters=filters)
        positions = self.table.positions(np.asarray([h.segment_id for h in hits], dtype=np.int64))
        self._finish_text_hits(hits, evidence, positions)
        return hits

    def _finish_text_hits(self, hits: list[Hit], evidence: TextEvidence, positions: np.ndarray) -> None:
        """Narrow the hits to the query's events and give each its calibrated relevance."""
        if evidence.classes is not None:
            narrow_to_events(self.coll, hits, evidence.classes, evidence.class_weights)
        if hits:
            from soundseek.search.relevance import relevance
            for hit, value in zip(hits, relevance(evidence.features(positions, self.table.sound_rows, self.class_codes))):
                hit.relevance = float(value)

    def _use_candidates(self) -> bool:
        if self.text_path == "exact" or self.joint_index is not None:
            return False
        return self.text_path == "candidates" or len(self.table) >= CANDIDATES_FROM

    @property
    def text_lists(self) -> TextLists:
        """The per-source candidate lists (search/candidate_lists.py), built on first use."""
        if self._text_lists is None:
            from soundseek.search.candidate_lists import build_text_lists
            self._text_lists = build_text_lists(self)
            release_free_memory()  # what building them freed (soundseek/memory.py)
        return self._text_lists

    def text_candidates(self, query: str) -> CandidateScores:
        """The query scored on its candidates only (see search/candidates.py)."""
        from soundseek.search.candidates import CandidateScores, FusionWeights

        weights = FusionWeights(KEYWORD_WEIGHT, TEXT_SIMILARITY_WEIGHT, TEXT_SIMILARITY_FLOOR, FEEDBACK_WEIGHT,
                                FEEDBACK_TOP, FEEDBACK_POOL, LIBRARY_WEIGHT)
        return CandidateScores(self, self.text_lists, _check_text(query), weights)

    def _search_candidates(self, query: str, top: int, offset: int, filters: Filters | None) -> list[Hit] | None:
        """search_text over the candidates; None when they hold fewer than `top + offset` files that pass
        `filters` (then the exact path answers)."""
        if top < 1 or offset < 0:
            raise QueryError(f"the number of results must be >= 1 and the offset >= 0 (got {top}, {offset})")
        cand = self.text_candidates(query)
        rows, scores = cand.rows, cand.scores.copy()
        if filters and filters.active():
            scores[~self._filter_mask(filters)[rows]] = -np.inf
        hits, complete = self._rank_rows(rows, scores, top, offset, cand.at)
        if not complete:
            return None
        kept = self.table.positions(np.asarray([h.segment_id for h in hits], dtype=np.int64))
        self._finish_text_hits(hits, cand.evidence(kept), kept)
        return hits

    def _rank_rows(self, rows: np.ndarray, scores: np.ndarray, top: int, offset: int,
                   score_of: Callable[[np.ndarray], np.ndarray]) -> tuple[list[Hit], bool]:
        """Hits from the scores of some table rows only (-inf: no hit); `score_of(rows)` scores any rows
        (for the moments of the hits' files). Returns the hits, and whether `top + offset` files were found."""
        chosen = best_sounds(scores, self.table.sound_ids[rows], top + offset)
        picked = np.asarray(chosen[offset:], dtype=np.int64)
        hits = with_moments(self.table, hits_at(self.coll, self.table, rows[picked], scores[picked]), score_of)
        return hits, len(chosen) >= top + offset

    def text_scores(self, query: str) -> np.ndarray:
        """Fused score of every segment for `query`. Returns: (n_segments,) float32."""
        return self.text_evidence(query).total

    @_blas_single_thread
    def text_evidence(self, query: str) -> TextEvidence:
        """Every source of evidence for `query`, and their fused score per segment (`total`)."""
        n = len(self.table)
        ev = TextEvidence(np.zeros(n, dtype=np.float32))
        if n == 0:
            return ev
        qvec = self.query_vector(query)
        # Evidence about whole sounds (their words) is summed per sound, then spread to segments once.
        ev.keywords = self._keyword_scores(query)
        ev.words = self._text_similarity(qvec)
        total = self.table.per_sound_to_segments(KEYWORD_WEIGHT * ev.keywords + TEXT_SIMILARITY_WEIGHT * ev.words)
        if self.class_codes is not None and self.matcher is not None:
            ev.class_similarity = self.matcher.similarities(qvec)
            ev.classes, ev.class_weights = self.matcher.weights_of(ev.class_similarity)
            zs = _unit(score_segments(self.class_scores, ev.classes, ev.class_weights))
            total += zs
            self._add_feedback(total, zs)
        if self.joint_index is not None:
            from soundseek.search.joint import joint_text_scores
            total += _unit(joint_text_scores(self.joint_model, self.joint_index, self.table, query))
        library = self.library if LIBRARY_WEIGHT else None
        if library is not None:
            ev.library_rows, ev.ridge, ev.knn = self._library_scores(qvec, library)
            total = _unit(total)
            total[ev.library_rows] += LIBRARY_WEIGHT * (_unit(ev.ridge) + _unit(ev.knn))
        ev.total = total
        return ev

    def _library_scores(self, query: np.ndarray, library: LibraryModel) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """What the library's named sounds say about its segments (see search/library.py).

        Returns: the table rows it scores, and its raw ridge and semantic-kNN scores for them."""
        ridge, knn = library.scores(query)
        rows = self.table.positions(library.segment_ids)
        known = (rows < len(self.table)) & (self.table.ids[np.minimum(rows, len(self.table) - 1)] == library.segment_ids)
        return rows[known], ridge[known], knn[known]

    def query_vector(self, query: str) -> np.ndarray:
        """The query embedded as it is, through the encoder's query path (int8 MiniLM: about half the
        time of the float graph that embeds what is stored, BENCHMARKS.md). One vector matches both the
        class names (embedded as "the sound of <name>", zeroshot.py) and the sounds' own words: a second
        text, "the sound of <query>", doubled the encoder's time for no better mAP (BENCHMARKS.md, issue
        11). Returns (dim,)."""
        return encode_query(self.text_encoder, [query])[0]

    def sound_texts(self) -> tuple[np.ndarray, np.ndarray]:
        """The sounds that have words (rows of table.sounds) and their words' embeddings (unit rows)."""
        if self._sound_text_vectors is None:
            from soundseek.search.state import load_sound_text_vectors
            vectors = load_sound_text_vectors(self.coll, self.table, self.text_encoder)
            self._sound_text_rows = np.flatnonzero(vectors.any(axis=1))  # only sounds that have words
            self._sound_text_vectors = np.ascontiguousarray(vectors[self._sound_text_rows])
        return self._sound_text_rows, self._sound_text_vectors

    def _text_similarity(self, qvec: np.ndarray) -> np.ndarray:
        """Semantic match of the query with each sound's own words (MiniLM cosine above a floor),
        per distinct sound (aligned with table.sounds)."""
        rows, vectors = self.sound_texts()
        per_sound = np.zeros(len(self.table.sounds), dtype=np.float32)
        if len(rows):
            sims = vectors @ qvec
            per_sound[rows] = np.clip((sims - TEXT_SIMILARITY_FLOOR) / (1 - TEXT_SIMILARITY_FLOOR), 0, 1)
        return per_sound

    def _add_feedback(self, total: np.ndarray, first_pass: np.ndarray) -> None:
        """Pseudo-relevance feedback in class-score space, over the best FEEDBACK_POOL candidates.

        The centroid of the FEEDBACK_TOP best first-pass segments' (L2-normalized) log class-score
        vectors is compared, by cosine, with every candidate's vector; FEEDBACK_WEIGHT times that
        similarity, scaled to [0, 1], is added to the candidates' scores in `total`.
        """
        if FEEDBACK_WEIGHT == 0 or not first_pass.any():
            return
        cand = top_order(first_pass, min(len(first_pass), FEEDBACK_POOL))
        x = l2_normalize(self.class_codes.rows(cand))
        sims = np.maximum(x @ l2_normalize(x[:FEEDBACK_TOP].mean(axis=0)), 0)
        if sims.max() > 0:
            total[cand] += FEEDBACK_WEIGHT * sims / sims.max()

    def _keyword_scores(self, query: str) -> np.ndarray:
        """BM25 of each distinct sound (aligned with table.sounds), scaled to [0, 1]. Large collections
        score it in memory (search/keywords.py), others (and phrases) through FTS5: the same scores."""
        hits = None
        if self.text_path == "candidates" or len(self.table) >= CANDIDATES_FROM:
            index = self.keyword_index
            hits = index.search(index.terms_of(_fts_words(query), self.coll.keyword_terms))
        if hits is None:
            hits = self.coll.keyword_search(_fts_query(query))
        return per_sound_scores(hits, self.table.sounds)

    @property
    def keyword_index(self) -> KeywordIndex:
        """The sounds' words as in-memory BM25 lists (search/keywords.py), read on first use."""
        if self._keywords is None:
            self._keywords = KeywordIndex(self.coll.keyword_postings())
            release_free_memory()
        return self._keywords

    # -- ranking -------------------------------------------------------------------------------
    def rank_segments(self, scores: np.ndarray, *, top: int = 10, offset: int = 0,
                      filters: Filters | None = None) -> list[Hit]:
        """Hits (best segment per file, with moments) for any per-segment scores (-inf = no hit)."""
        return self._rank(scores, top=top, offset=offset, filters=filters)

    def _rank(self, scores: np.ndarray, *, top: int, offset: int, filters: Filters | None) -> list[Hit]:
        if top < 1 or offset < 0:
            raise QueryError(f"the number of results must be >= 1 and the offset >= 0 (got {top}, {offset})")
        if filters and filters.active():
            scores = np.where(self._filter_mask(filters), scores, -np.inf).astype(np.float32)
        chosen = best_sounds(scores, self.table.sound_ids, top + offset)
        positions = np.asarray(chosen[offset:], dtype=np.int64)
        return with_moments(self.table, hits_at(self.coll, self.table, positions, scores[positions]),
                            lambda rows: scores[rows])

    def _filter_mask(self, f: Filters) -> np.ndarray:
        return filter_mask(self.table, f, self.coll.segments_with_tag)


def open_engine(collection_dir: Path, model_dir: Path | None = None) -> SearchEngine:
    """Open the collection at `collection_dir` and build its engine, with its trained joint model when
    the collection has one attached (or `model_dir` when given). Used by the CLI and the server alike."""
    coll = Collection.open(collection_dir)
    joint = None
    if model_dir is not None or coll.meta("joint_model"):
        from soundseek.search.joint import load_model_for
        joint = load_model_for(coll, model_dir)
    return SearchEngine(coll, joint_model=joint)
