"""Qualitative neighbours in the joint space (Elizalde et al. 2019, section 4.3).

Text queries, in and out of the training vocabulary ("gunshot", "meow", "house", ...): the nearest
labels by plain text-encoder similarity beside the nearest labels in the joint space, and the labels
the kNN vote over the training audio gives. Out-of-vocabulary audio queries (a synthesized
orchestra-like chord, a synthesized thunderstorm, recordings of animals ESC-50 lacks): the labels
the kNN vote gives with the raw audio vectors and in the joint space, and the nearest joint labels.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from soundseek.encoders.base import l2_normalize
from soundseek.joint.evaluate import knn_label_ranking

TEXT_QUERIES = ("gunshot", "meow", "house", "barking", "thunder and rain", "orchestra", "baby crying")
ANIMAL_FILES = ("owl", "duck", "horse")


def orchestra_like(seconds: float = 5.0, *, sr: int = 16000, seed: int = 0) -> np.ndarray:
    """A sustained major chord of harmonic tones with vibrato and slow swells (string-section-like)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    out = np.zeros_like(t)
    for root in (220.0, 277.2, 329.6, 440.0):
        for voice in range(3):
            f = root * (1 + rng.uniform(-0.003, 0.003)) * (1 + 0.004 * np.sin(2 * np.pi * rng.uniform(4.5, 6) * t))
            phase = 2 * np.pi * np.cumsum(f) / sr
            out += sum(np.sin(h * phase) / h**1.5 for h in range(1, 8)) * (0.6 + 0.4 * np.sin(2 * np.pi * 0.2 * t + voice))
    return (0.5 * out / np.max(np.abs(out))).astype(np.float32)


#: sfx-dev recordings (supertux-data, GPL-2+) mixed into a thunderstorm: thunder over rain.
SFX_THUNDER, SFX_RAIN = "supertux_0049.flac", "supertux_0019.flac"


def thunderstorm_mix(sfx_dev: Path, *, seconds: float = 5.0, sr: int = 16000) -> np.ndarray | None:
    """The first `seconds` of sfx-dev's rain with its thunder starting 0.5 s in, peak 0.5 (None if absent)."""
    from soundseek.audio import load_audio

    thunder, rain = sfx_dev / "audio" / SFX_THUNDER, sfx_dev / "audio" / SFX_RAIN
    if not (thunder.is_file() and rain.is_file()):
        return None
    out = np.zeros(int(seconds * sr), np.float32)
    r = load_audio(rain)[: len(out)]
    out[: len(r)] += 0.5 * r / max(1e-9, float(np.max(np.abs(r))))
    t = load_audio(thunder)[: len(out) - sr // 2]
    out[sr // 2: sr // 2 + len(t)] += t / max(1e-9, float(np.max(np.abs(t))))
    return (0.5 * out / max(1e-9, float(np.max(np.abs(out))))).astype(np.float32)


def audio_queries(settings: Any) -> dict[str, np.ndarray]:
    """Name -> 16 kHz waveform of each out-of-vocabulary audio query that is available: thunderstorm from
    sfx-dev recordings (thunder over rain) and synthesized, an orchestra-like chord (synthesized: no
    orchestra recording is in ../shared), and animal recordings ESC-50 lacks."""
    from soundseek.audio import load_audio
    from soundseek.audio.synth import make_sound

    out: dict[str, np.ndarray] = {}
    storm = thunderstorm_mix(Path(settings.esc50).parent / "sfx-dev")
    if storm is not None:
        out["thunderstorm (sfx-dev: supertux thunder over rain)"] = storm
    out.update({"orchestra-like (synthesized)": orchestra_like(), "thunderstorm-like (synthesized)": make_sound("thunder", 3)})
    animals = Path(settings.esc50).parent / "animals-cc0"
    for name in ANIMAL_FILES:
        hits = sorted(animals.glob(f"*{name}*")) if animals.is_dir() else []
        if hits:
            out[f"{name} ({hits[0].name})"] = load_audio(hits[0])
    return out


def _top(sim: np.ndarray, names: list[str], k: int = 5) -> list[list[Any]]:
    order = np.argsort(-sim, kind="stable")[:k]
    return [[names[i], round(float(sim[i]), 3)] for i in order]


def text_neighbours(model: Any, prep: Any, train: np.ndarray) -> list[dict[str, Any]]:
    """Nearest labels for each text query: text encoder, joint space, and kNN over training audio."""
    vocab = model.labels
    raw_vocab = l2_normalize(prep.encode(vocab))
    raw_q = l2_normalize(prep.encode(list(TEXT_QUERIES)))
    joint_q = model.embed_text(list(TEXT_QUERIES))
    joint_audio = model.embed_audio(prep.data.audio[train])
    knn = knn_label_ranking(joint_q @ joint_audio.T, prep.names[train], depth=5)
    return [{"query": q, "in_vocabulary": q in vocab, "text_similarity": _top(raw_q[i] @ raw_vocab.T, vocab),
             "joint_labels": _top(joint_q[i] @ model.label_vectors.T, vocab), "joint_knn_audio": knn[i]}
            for i, q in enumerate(TEXT_QUERIES)]


def audio_neighbours(model: Any, prep: Any, train: np.ndarray, settings: Any) -> list[dict[str, Any]]:
    """Labels for out-of-vocabulary sounds: raw-vector kNN, joint kNN, nearest joint labels."""
    from soundseek.audio.segments import cut_spans
    from soundseek.encoders import build_audio_encoder

    if prep.data.audio_encoder != "yamnet":
        return []
    enc = build_audio_encoder("yamnet", {"model_dir": str(settings.yamnet_dir)} if settings.yamnet_dir else {})
    rows = []
    for name, wave in audio_queries(settings).items():
        vec = enc.encode_segments(wave, cut_spans(len(wave) / enc.sample_rate)).vectors.mean(axis=0, keepdims=True)
        vec = l2_normalize(vec)
        raw = knn_label_ranking(vec @ prep.data.audio[train].T, prep.names[train], depth=7)[0]
        joint = model.embed_audio(vec)
        jknn = knn_label_ranking(joint @ model.embed_audio(prep.data.audio[train]).T, prep.names[train], depth=7)[0]
        rows.append({"query": name, "raw_knn": raw, "joint_knn": jknn,
                     "joint_labels": _top(joint[0] @ model.label_vectors.T, model.labels)})
    return rows


def qualitative(model: Any, prep: Any, train: np.ndarray, settings: Any) -> dict[str, Any]:
    return {"text": text_neighbours(model, prep, train), "audio": audio_neighbours(model, prep, train, settings)}
