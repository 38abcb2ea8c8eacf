"""The fast query paths (int8 MiniLM, the distilled static encoder) against float32 MiniLM, and the
names that keep their cached vectors apart."""

from __future__ import annotations

import numpy as np
import pytest
from standins import tiny_collection

from soundseek.encoders import build_text_encoder, encode_query
from soundseek.encoders import text as text_mod
from soundseek.encoders.minilm_onnx import cache_dir
from soundseek.encoders.minilm_static import SIF_COEFFICIENT, sif_weights
from soundseek.encoders.text import MiniLMConfig, MiniLMEncoder
from soundseek.errors import ModelError
from soundseek.search.state import cached_text_vectors

#: Measured over 4,000 texts of random vocabulary words: mean cosine 0.991, 1st percentile 0.978,
#: minimum 0.961 (BENCHMARKS.md, "Issue 11: query encoder"); these bounds leave a margin.
INT8_MIN_COSINE = 0.95
INT8_MEAN_COSINE = 0.98


def generated_texts(n: int, seed: int = 0) -> list[str]:
    """`n` texts of one to three random letter strings, half of them as "the sound of ..."."""
    rng = np.random.default_rng(seed)
    letters = list("abcdefghijklmnopqrstuvwxyz")
    words = [" ".join("".join(rng.choice(letters, size=int(rng.integers(3, 9))))
                      for _ in range(int(rng.integers(1, 4)))) for _ in range(n)]
    return [f"the sound of {w}" if i % 2 else w for i, w in enumerate(words)]


@pytest.fixture(scope="module")
def minilm() -> MiniLMEncoder:
    return MiniLMEncoder()


def test_int8_query_vectors_stay_close_to_float32(minilm):
    texts = generated_texts(200)
    exact, fast = minilm.encode_text(texts), minilm.encode_query(texts)
    cosine = (exact * fast).sum(axis=1)
    assert fast.shape == exact.shape == (200, 384) and fast.dtype == np.float32
    assert np.allclose(np.linalg.norm(fast, axis=1), 1.0, atol=1e-5)
    assert cosine.min() > INT8_MIN_COSINE and cosine.mean() > INT8_MEAN_COSINE
    assert not np.array_equal(exact, fast)  # the int8 graph really ran


def test_default_encoder_stores_float32_and_queries_in_int8(minilm):
    assert minilm.name == "minilm" and minilm.config.query_precision == "int8"
    same = MiniLMEncoder(MiniLMConfig(query_precision="float32"))
    texts = ["the sound of glass shattering", "glass shattering"]
    assert np.array_equal(same.encode_query(texts), same.encode_text(texts))
    assert np.array_equal(encode_query(minilm, texts), minilm.encode_query(texts))


def test_encoders_without_a_query_path_embed_queries_as_texts():
    glove = build_text_encoder("glove")
    assert np.array_equal(encode_query(glove, ["dog barking"]), glove.encode_text(["dog barking"]))


def test_int8_text_vectors_never_share_a_cache_with_float32(tmp_path, minilm):
    int8 = MiniLMEncoder(MiniLMConfig(precision="int8"))
    assert int8.name == "minilm-int8" != minilm.name
    coll = tiny_collection(tmp_path / "c", ["Dog", "Rain"])
    phrases = ["the sound of Dog", "the sound of Rain"]
    exact = cached_text_vectors(coll, "class_phrases", phrases, minilm)
    quantized = cached_text_vectors(coll, "class_phrases", phrases, int8)
    assert np.array_equal(quantized, int8.encode_text(phrases)) and not np.array_equal(quantized, exact)
    assert np.array_equal(cached_text_vectors(coll, "class_phrases", phrases, minilm), exact)
    index = tmp_path / "c" / "index"
    assert (index / "class_phrases_minilm.npz").is_file() and (index / "class_phrases_minilm-int8.npz").is_file()


def test_text_cache_survives_being_emptied(monkeypatch, minilm):
    """A call mixing a cached text with new ones, at the moment the cache is full, still answers."""
    monkeypatch.setattr(text_mod, "CACHE_TEXTS", 3)
    enc = MiniLMEncoder()
    enc.encode_text(["rain", "dog", "cat"])
    got = enc.encode_text(["dog", "thunder"])  # "dog" cached, "thunder" new: the cache is emptied
    assert np.allclose(got, minilm.encode_text(["dog", "thunder"]), atol=1e-6)


def test_bad_precisions_are_refused():
    with pytest.raises(ModelError, match="unknown MiniLM precision"):
        MiniLMEncoder(MiniLMConfig(query_precision="int4"))
    with pytest.raises(ModelError, match="needs the ONNX backend"):
        MiniLMEncoder(MiniLMConfig(precision="int8", backend="torch"))


def test_exports_are_keyed_by_the_source_weights(tmp_path, monkeypatch):
    monkeypatch.setenv("SOUNDSEEK_MODELS", str(tmp_path / "models"))
    folders = []
    for name, weights in [("a", b"\x01" * 1000), ("b", b"\x01" * 1000), ("c", b"\x02" * 1000)]:
        (tmp_path / name).mkdir()
        (tmp_path / name / "model.safetensors").write_bytes(weights)
        folders.append(cache_dir(tmp_path / name))
    assert folders[0] == folders[1] != folders[2]
    assert folders[0].parent == tmp_path / "models" / "cache"


def test_static_encoder_sums_minilm_token_vectors(minilm):
    static = build_text_encoder("minilm-static")
    assert static.name == "minilm-static" and static.dim == 384
    # one token: its row is MiniLM's own mean-pooled "[CLS] dog [SEP]", i.e. MiniLM's vector of "dog"
    assert float(static.encode_text(["dog"])[0] @ minilm.encode_text(["dog"])[0]) > 0.9999
    ids = static._tokenizer.encode("glass shattering", add_special_tokens=False).ids  # noqa: SLF001
    expected = np.asarray(static._table[ids]).sum(axis=0)  # noqa: SLF001
    assert len(ids) == 2 and np.allclose(static.encode_text(["glass shattering"])[0],
                                        expected / np.linalg.norm(expected), atol=1e-6)
    assert not static.encode_text([""]).any()


def test_sif_weights_by_hand():
    tokens = ["[PAD]", "[unused0]", "the", "dog"]
    weights = sif_weights(lambda i: tokens[i], 4)
    inv_rank = np.array([1 / 2, 1 / 3, 1 / 4])  # ranks of the kept tokens [PAD], the, dog
    p = inv_rank / inv_rank.sum()
    assert weights[1] == 0.0
    assert np.allclose(weights[[0, 2, 3]], SIF_COEFFICIENT / (SIF_COEFFICIENT + p))
