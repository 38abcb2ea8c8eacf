from __future__ import annotations

import numpy as np
import pytest
from conftest import chirp, noise, tone

from soundseek.audio.segments import cut_spans
from soundseek.encoders import (
    build_audio_encoder,
    build_text_encoder,
    encoder_config_dict,
)
from soundseek.encoders.mfcc import mel_filterbank
from soundseek.errors import ModelError, SoundseekError


def test_mfcc_shape_normalized_deterministic():
    enc = build_audio_encoder("mfcc")
    wave = np.concatenate([tone(440, 6.0), noise(6.0)])
    spans = cut_spans(12.0)
    a = enc.encode_segments(wave, spans)
    assert a.vectors.shape == (len(spans), 120) and a.class_scores is None
    assert np.allclose(np.linalg.norm(a.vectors, axis=1), 1.0, atol=1e-5)
    assert np.array_equal(a.vectors, enc.encode_segments(wave, spans).vectors)
    # the tone segment and the noise segment differ more than two tone segments
    assert a.vectors[0] @ a.vectors[-1] < a.vectors[0] @ enc.encode_segments(tone(440, 5.0), cut_spans(5.0)).vectors[0]


def test_mel_filterbank_covers_the_spectrum():
    fb = mel_filterbank(16000, 512, 40)
    assert fb.shape == (40, 257)
    assert np.all(fb.max(axis=1) > 0.5)


def test_registry_round_trips_config_and_rejects_unknowns():
    enc = build_audio_encoder("mfcc", {"n_mfcc": 13})
    assert enc.dim == 78
    assert encoder_config_dict(enc)["n_mfcc"] == 13
    with pytest.raises(SoundseekError, match="unknown audio encoder"):
        build_audio_encoder("nope")
    with pytest.raises(SoundseekError, match="no setting"):
        build_audio_encoder("mfcc", {"bogus": 1})


def test_yamnet_missing_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("SOUNDSEEK_MODELS", str(tmp_path))
    with pytest.raises(ModelError, match="soundseek models pull yamnet"):
        build_audio_encoder("yamnet")


def test_yamnet_frames_and_segments(yamnet_dir):
    enc = build_audio_encoder("yamnet", {"model_dir": str(yamnet_dir)})
    wave = chirp(200, 4000, 20.0)
    emb, scores, times = enc.frames(wave)
    assert emb.shape[1] == 1024 and scores.shape[1] == 521
    assert times[-1, 1] == pytest.approx(20.0, abs=1.0)
    seg = enc.encode_segments(wave, cut_spans(20.0))
    assert seg.vectors.shape == (len(cut_spans(20.0)), 1024)
    assert seg.class_scores.shape[1] == 521


def test_glove_unknown_words_give_zero_vector():
    enc = build_text_encoder("glove")
    vecs = enc.encode_text(["dog barking", "qwzxv"])
    assert np.linalg.norm(vecs[0]) == pytest.approx(1.0, abs=1e-5)
    assert not vecs[1].any()
    assert enc.unknown_words("dog qwzxv") == ["qwzxv"]


def test_minilm_similar_meanings_are_close():
    enc = build_text_encoder("minilm")
    v = enc.encode_text(["a dog barks", "a puppy barking", "engine of a truck"])
    assert v.shape == (3, 384)
    assert v[0] @ v[1] > v[0] @ v[2]
