"""Text search over candidates (search/candidates.py) against the exact path, and the inner-product lists."""

from __future__ import annotations

import numpy as np
import pytest
from standins import KeywordTextEncoder, add_sound, tiny_collection

from soundseek.cli import main
from soundseek.search import candidate_lists
from soundseek.search import candidates as candidates_mod
from soundseek.search.engine import SearchEngine, open_engine
from soundseek.search.filters import Filters
from soundseek.search.inner import build_inner_search, cached_inner_search

VOCAB = ["dog", "rain", "park", "bark"]


def _same_hits(a, b) -> None:
    assert [h.path for h in a] == [h.path for h in b]
    for x, y in zip(a, b):
        assert x.score == pytest.approx(y.score, abs=1e-5) and x.relevance == pytest.approx(y.relevance, abs=1e-6)
        assert [(m.start, m.end) for m in x.moments] == [(m.start, m.end) for m in y.moments]
        assert (x.start, x.end, x.segment_id) == (y.start, y.end, y.segment_id)


@pytest.fixture()
def coll(tmp_path):
    coll = tiny_collection(tmp_path / "c", ["Dog", "Rain"])
    add_sound(coll, "/a.wav", [([1, 0], [0.9, 0.0]), ([0, 1], [0.0, 0.5]), ([1, 1], [0.6, 0.1])])
    add_sound(coll, "/b.wav", [([1, 1], [0.5, 0.1])], text="dog bark")
    add_sound(coll, "/c.wav", [([0, 1], [0.0, 0.8])], text="park")
    add_sound(coll, "/d.wav", [([1, 0.2], [0.02, 0.3]), ([0.3, 1], [0.0, 0.05])])
    return coll


@pytest.mark.parametrize("query", ["dog", "rain", "dog park", "bark", "rain park dog"])
def test_candidates_give_the_exact_paths_hits_when_every_source_is_asked_enough(coll, query) -> None:
    encoder = KeywordTextEncoder(VOCAB)
    exact = SearchEngine(coll, text_encoder=encoder, text_path="exact")
    cand = SearchEngine(coll, text_encoder=encoder, text_path="candidates")
    _same_hits(cand.search_text(query, top=3), exact.search_text(query, top=3))
    _same_hits(cand.search_text(query, top=2, offset=1), exact.search_text(query, top=2, offset=1))
    only_c = Filters(path_glob="/c*")
    _same_hits(cand.search_text(query, top=1, filters=only_c), exact.search_text(query, top=1, filters=only_c))


def test_candidate_scores_are_the_fused_scores_at_any_row(coll) -> None:
    engine = SearchEngine(coll, text_encoder=KeywordTextEncoder(VOCAB), text_path="candidates")
    total = engine.text_evidence("dog park").total
    total[total <= 0] = -np.inf
    scored = engine.text_candidates("dog park")
    rows = np.arange(len(engine.table))
    np.testing.assert_allclose(scored.at(rows), total, rtol=1e-6)
    assert set(scored.rows.tolist()) <= set(rows.tolist())


def test_too_few_candidates_fall_back_to_the_exact_path(coll, monkeypatch) -> None:
    monkeypatch.setattr(candidates_mod, "POOL", 1)
    monkeypatch.setattr(candidate_lists, "CLASS_LIST", 1)
    encoder = KeywordTextEncoder(VOCAB)
    cand = SearchEngine(coll, text_encoder=encoder, text_path="candidates")
    exact = SearchEngine(coll, text_encoder=encoder, text_path="exact")
    assert len(cand.text_candidates("rain").rows) < len(cand.table)
    _same_hits(cand.search_text("rain", top=4), exact.search_text("rain", top=4))  # 4 files: more than the candidates


def test_text_path_is_checked() -> None:
    with pytest.raises(ValueError, match="text_path"):
        SearchEngine.__init__(object.__new__(SearchEngine), None, text_path="fast")  # type: ignore[arg-type]


def test_named_library_through_candidates_matches_the_exact_path(tmp_path) -> None:
    """MFCC, real MiniLM, a library model learnt from named takes: the candidate path is the exact one."""
    import soundfile as sf

    from soundseek.audio.synth import KINDS, SR, make_sound

    for k, kind in enumerate(KINDS):
        for take in range(4):
            folder = tmp_path / "lib" / (kind if take < 2 else "unsorted")
            folder.mkdir(parents=True, exist_ok=True)
            sf.write(str(folder / (f"{kind}_{take}.wav" if take < 2 else f"take{k}{take}.wav")),
                     make_sound(kind, seed=10 * k + take), SR)
    assert main(["index", str(tmp_path / "lib"), "--collection", str(tmp_path / "c"), "--encoder", "mfcc", "--quiet"]) == 0
    exact = open_engine(tmp_path / "c")
    exact.text_path = "exact"
    cand = open_engine(tmp_path / "c")
    cand.text_path = "candidates"
    assert cand.library is not None
    for kind in list(KINDS)[:4]:
        _same_hits(cand.search_text(kind, top=5), exact.search_text(kind, top=5))


def _clustered(n: int, dim: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((40, dim)).astype(np.float32)
    x = centres[rng.integers(0, 40, n)] + 0.4 * rng.standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.mark.parametrize("dim", [32, 128])  # 128: the lists search the 64 main directions only
def test_inverted_lists_find_the_best_inner_products(dim) -> None:
    x = _clustered(6000, dim, 0)
    queries = _clustered(50, dim, 1)
    ivf = build_inner_search(x, exact_rows=0)
    exact = build_inner_search(x)
    assert not ivf.exact and exact.exact
    recall = []
    for q in queries:
        got, sims = ivf.top(q, 10)
        want, want_sims = exact.top(q, 10)
        # similarities are those of the rows decoded from their 8-bit codes, close to the exact ones
        np.testing.assert_allclose(sims, ivf.vectors(got) @ q, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(sims, x[got] @ q, atol=5e-3)
        assert list(sims) == sorted(sims, reverse=True)
        assert list(want_sims) == sorted(want_sims, reverse=True)
        recall.append(len(set(got) & set(want)) / 10)
    assert np.mean(recall) >= 0.9
    rows, sims = exact.above(queries[0], 0.5, 10)
    assert (sims > 0.5).all() and len(rows) == int((x @ queries[0] > 0.5).sum())
    assert list(sims) == sorted(sims, reverse=True)
    any_order, any_sims = exact.above(queries[0], 0.5, 10, ordered=False)  # the same rows and numbers
    assert sorted(zip(any_order.tolist(), any_sims.tolist())) == sorted(zip(rows.tolist(), sims.tolist()))


def test_inverted_lists_are_cached_under_their_key(tmp_path) -> None:
    x = _clustered(3000, 16, 2)
    computed = []

    def matrix():
        computed.append(1)
        return x

    first = cached_inner_search(tmp_path, "m", "g7", len(x), matrix, exact_rows=0)
    again = cached_inner_search(tmp_path, "m", "g7", len(x), matrix, exact_rows=0)
    assert (tmp_path / "m" / "lists.ivf").is_file() and again.ivf is not first.ivf and computed == [1]  # not recomputed
    np.testing.assert_array_equal(first.top(x[0], 5)[0], again.top(x[0], 5)[0])
    np.testing.assert_allclose(again.vectors(np.array([3, 1])), x[[3, 1]], atol=0.02)
    cached_inner_search(tmp_path, "m", "g8", len(x), matrix, exact_rows=0)  # another key rebuilds
    assert computed == [1, 1]
    (tmp_path / "m" / "lists.ivf").write_bytes(b"garbage")
    assert cached_inner_search(tmp_path, "m", "g8", len(x), matrix, exact_rows=0).top(x[0], 1)[0][0] == 0  # rebuilt
    assert computed == [1, 1, 1]
    small = cached_inner_search(tmp_path, "s", "g8", len(x), matrix)  # below EXACT_ROWS: the matrix itself
    assert small.exact and small.vectors(np.array([2]))[0].tolist() == x[2].tolist()


def test_query_by_example_ranks_only_the_nearest_segments_like_the_exact_pass(coll) -> None:
    """Without filters only the index's nearest segments are ranked; a filter that passes everything takes
    the exact pass over every segment: the same files, scores and moments."""
    engine = SearchEngine(coll, text_encoder=KeywordTextEncoder(VOCAB))
    example = np.asarray([1.0, 0.3], dtype=np.float32) / np.hypot(1.0, 0.3)
    everything = Filters(min_duration=0.0)
    _same_hits(engine.search_vector(example, top=3), engine.search_vector(example, top=3, filters=everything))
    left_out = ("/a.wav", 0.0, 5.0)  # the query's own span of /a.wav: its other segments stay valid hits
    got = engine.search_vector(example, top=4, exclude=left_out)
    _same_hits(got, engine.search_vector(example, top=4, filters=everything, exclude=left_out))
    assert all(not (h.path == "/a.wav" and h.start < 5.0) for h in got)
    with pytest.raises(Exception, match="number of results"):
        engine.search_vector(example, top=0)
