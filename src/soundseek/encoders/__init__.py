"""A closed registry of encoders: name -> (config dataclass, factory).

`build_audio_encoder("yamnet", {"num_threads": 2})` builds from a plain dict, and
`encoder_config_dict(encoder)` gives the dict back, so a collection can record how it was built.
Factories import their heavy dependencies lazily; nothing loads at import time.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable

from soundseek.encoders.base import (
    AudioEncoder,
    SegmentEmbeddings,
    TextEncoder,
    encode_query,
    l2_normalize,
)
from soundseek.errors import SoundseekError

__all__ = [
    "AudioEncoder", "TextEncoder", "SegmentEmbeddings", "encode_query", "l2_normalize",
    "AUDIO_ENCODERS", "TEXT_ENCODERS", "build_audio_encoder", "build_text_encoder",
    "encoder_config_dict",
    "changed_vector_settings",
]


@dataclass(frozen=True)
class Registration:
    """How to build one encoder: its config dataclass and a factory taking that config."""

    config_type: type
    factory: Callable[[Any], Any]


def _mfcc(cfg: Any) -> AudioEncoder:
    from soundseek.encoders.mfcc import MfccEncoder
    return MfccEncoder(cfg)


def _yamnet(cfg: Any) -> AudioEncoder:
    from soundseek.encoders.yamnet import YamnetEncoder
    return YamnetEncoder(cfg)


def _minilm(cfg: Any) -> TextEncoder:
    from soundseek.encoders.text import MiniLMEncoder
    return MiniLMEncoder(cfg)


def _minilm_static(cfg: Any) -> TextEncoder:
    from soundseek.encoders.minilm_static import StaticMiniLM
    return StaticMiniLM(cfg)


def _glove(cfg: Any) -> TextEncoder:
    from soundseek.encoders.text import GloveEncoder
    return GloveEncoder(cfg)


def _ssl(cfg: Any) -> AudioEncoder:
    from soundseek.encoders.ssl_encoder import SslEncoder
    return SslEncoder(cfg)


def _audio_registry() -> dict[str, Registration]:
    from soundseek.encoders.mfcc import MfccConfig
    from soundseek.encoders.ssl_encoder import SslConfig
    from soundseek.encoders.yamnet import YamnetConfig
    return {
        "mfcc": Registration(MfccConfig, _mfcc),
        "yamnet": Registration(YamnetConfig, _yamnet),
        "ssl": Registration(SslConfig, _ssl),
    }


def _text_registry() -> dict[str, Registration]:
    from soundseek.encoders.minilm_static import MiniLMStaticConfig
    from soundseek.encoders.text import GloveConfig, MiniLMConfig
    return {
        "minilm": Registration(MiniLMConfig, _minilm),
        "minilm-static": Registration(MiniLMStaticConfig, _minilm_static),
        "glove": Registration(GloveConfig, _glove),
    }


AUDIO_ENCODERS = ("yamnet", "mfcc", "ssl")
TEXT_ENCODERS = ("minilm", "minilm-static", "glove")


def build_audio_encoder(name: str, config: dict[str, Any] | None = None) -> AudioEncoder:
    """Build the audio encoder registered as `name` from a config dict."""
    return _build(_audio_registry(), "audio", name, config)


def build_text_encoder(name: str, config: dict[str, Any] | None = None) -> TextEncoder:
    """Build the text encoder registered as `name` from a config dict."""
    return _build(_text_registry(), "text", name, config)


def encoder_config_dict(encoder: Any) -> dict[str, Any]:
    """The config of a built encoder as a JSON-ready dict (empty when it has none)."""
    cfg = getattr(encoder, "config", None)
    return dataclasses.asdict(cfg) if dataclasses.is_dataclass(cfg) else {}


def changed_vector_settings(name: str, recorded: dict[str, Any], wanted: dict[str, Any]) -> dict[str, Any]:
    """The settings in `wanted` that would change the vectors of audio encoder `name` from those of a
    collection built with `recorded` (a setting it did not record had its default then), with the
    recorded values."""
    reg = _audio_registry().get(name)
    if reg is None:
        return {}
    was = {f.name: recorded.get(f.name, f.default) for f in dataclasses.fields(reg.config_type)}
    return {k: was[k] for k in getattr(reg.config_type, "VECTOR_SETTINGS", ()) if k in wanted and wanted[k] != was[k]}


def _build(registry: dict[str, Registration], kind: str, name: str, config: dict[str, Any] | None) -> Any:
    if name not in registry:
        raise SoundseekError(f"unknown {kind} encoder '{name}' (known: {', '.join(sorted(registry))})")
    reg = registry[name]
    fields = {f.name for f in dataclasses.fields(reg.config_type)}
    unknown = set(config or {}) - fields
    if unknown:
        raise SoundseekError(f"{kind} encoder '{name}' has no setting(s) {sorted(unknown)}")
    return reg.factory(reg.config_type(**(config or {})))
