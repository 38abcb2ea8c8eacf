"""Stage 2, audio: decode any supported file to mono float32 at the encoder's rate, and cut it into spans.

`decode` reads and resamples, `segments` cuts deterministic windows, `synth` makes procedural test and
demo sounds.
"""

from __future__ import annotations

from soundseek.audio.decode import (
    DEFAULT_MAX_DURATION,
    AudioInfo,
    decode_file,
    load_audio,
    prepare_waveform,
    probe,
)

__all__ = ["DEFAULT_MAX_DURATION", "AudioInfo", "decode_file", "load_audio", "prepare_waveform", "probe"]
