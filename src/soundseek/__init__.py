"""soundseek: cross-modal audio search (text -> audio, audio -> audio, audio -> text)."""

from __future__ import annotations

__version__ = "0.1.0"
