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


@pytest.mark.parametrize("seconds", [0.5, 3.3, 40.0])  # shorter than a frame, a clip, two chunks of 31 s
def test_yamnet_end_to_end_windows_are_every_other_frame_to_the_bit(yamnet_dir, seconds):
    wave = chirp(300, 3000, seconds) + noise(seconds, amp=0.05, seed=3)
    emb, scores, times = build_audio_encoder("yamnet", {"model_dir": str(yamnet_dir)}).frames(wave)
    fast = build_audio_encoder("yamnet", {"model_dir": str(yamnet_dir), "frame_hop": 0.96})
    f_emb, f_scores, f_times = fast.frames(wave)
    assert encoder_config_dict(fast)["frame_hop"] == 0.96
    m = len(emb[::2])
    assert np.array_equal(f_emb[:m], emb[::2]) and np.array_equal(f_scores[:m], scores[::2])
    assert np.allclose(f_times[:m], times[::2]) and np.allclose(np.diff(f_times[:, 0]), 0.96)
    assert f_times[-1, 1] >= seconds  # every sample is in a frame (the last one padded with silence)
    assert len(f_emb) <= m + 1
    with pytest.raises(ModelError, match="frame_hop"):
        build_audio_encoder("yamnet", {"model_dir": str(yamnet_dir), "frame_hop": 0.5})


def test_a_collection_keeps_the_frame_hop_it_was_built_with(yamnet_dir, tmp_path):
    from conftest import write_wav

    from soundseek.indexer import index_paths, open_for_indexing

    write_wav(tmp_path / "lib" / "a.wav", tone(440, 2.0))
    config = {"model_dir": str(yamnet_dir), "frame_hop": 0.96}
    coll, enc = open_for_indexing(tmp_path / "c", "yamnet", config)
    index_paths(coll, [tmp_path / "lib"], enc, quiet=True)
    coll.close()
    # reopened without the setting, or with the model elsewhere: the collection's hop is kept
    for again in (None, {"model_dir": str(yamnet_dir)}):
        coll, enc = open_for_indexing(tmp_path / "c", None, again)
        assert enc.hop_seconds == 0.96
        coll.close()
    with pytest.raises(SoundseekError, match="frame_hop=0.96.*frame_hop=0.48"):
        open_for_indexing(tmp_path / "c", None, {"model_dir": str(yamnet_dir), "frame_hop": 0.48})


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
