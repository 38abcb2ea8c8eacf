"""The models directory: where pretrained files live, and the explicit commands that fill it.

Nothing is ever downloaded implicitly. `soundseek models pull yamnet` downloads the official files and
checks their pinned sha256; `soundseek models add yamnet FILE` installs a local copy after the same check.
The directory is `$SOUNDSEEK_MODELS`, else `<user cache dir>/soundseek/models`.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from platformdirs import user_cache_dir

from soundseek.errors import ModelError


@dataclass(frozen=True)
class ModelFile:
    """One file of a pretrained model, pinned by checksum."""

    filename: str
    url: str
    sha256: str


MODEL_FILES: dict[str, tuple[ModelFile, ...]] = {
    "yamnet": (
        ModelFile(
            "yamnet.tflite",
            "https://tfhub.dev/google/lite-model/yamnet/tflite/1?lite-format=tflite",
            "2d5e1e0577beb1fd3b6ba4cf89a7b8813340added8dae72f64fe8cd18731dd4a",
        ),
        ModelFile(
            "yamnet_class_map.csv",
            "https://raw.githubusercontent.com/tensorflow/models/master/research/audioset/yamnet/"
            "yamnet_class_map.csv",
            "cdf24d193e196d9e95912a2667051ae203e92a2ba09449218ccb40ef787c6df2",
        ),
    ),
}


def models_dir() -> Path:
    """The models directory (not created here)."""
    env = os.environ.get("SOUNDSEEK_MODELS")
    return Path(env).expanduser() if env else Path(user_cache_dir("soundseek")) / "models"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def model_path(name: str, filename: str) -> Path:
    return models_dir() / name / filename


def is_installed(name: str) -> bool:
    """True when every file of model `name` is present (checksums are verified at install time)."""
    return all(model_path(name, f.filename).is_file() for f in _files(name))


def require(name: str) -> Path:
    """Directory of installed model `name`, or a ModelError that says how to install it."""
    if not is_installed(name):
        raise ModelError(
            f"model '{name}' is not installed in {models_dir()}: run `soundseek models pull {name}` "
            f"(download) or `soundseek models add {name} FILE...` (local copy)"
        )
    return models_dir() / name


def add(name: str, sources: list[Path]) -> list[Path]:
    """Install local copies of model files after verifying each sha256.

    Each source is matched to a model file by checksum, so names do not matter. Returns the installed paths.
    """
    wanted = {f.sha256: f for f in _files(name)}
    installed = []
    for src in sources:
        src = Path(src)
        if src.is_dir():
            installed += add(name, [p for p in sorted(src.iterdir()) if p.is_file()])
            continue
        digest = sha256_of(src)
        if digest not in wanted:
            raise ModelError(f"{src}: sha256 {digest} matches no file of model '{name}'")
        installed.append(_install(src, wanted[digest]))
    return installed


def pull(name: str) -> list[Path]:
    """Download every file of model `name`, verify sha256, install atomically. Returns the paths."""
    paths = []
    for spec in _files(name):
        with tempfile.TemporaryDirectory() as tmp:
            part = Path(tmp) / spec.filename
            try:
                with urllib.request.urlopen(spec.url, timeout=60) as resp, open(part, "wb") as out:
                    shutil.copyfileobj(resp, out)
            except OSError as exc:
                raise ModelError(f"download of {spec.url} failed: {exc}") from exc
            digest = sha256_of(part)
            if digest != spec.sha256:
                raise ModelError(f"{spec.url}: sha256 {digest} != pinned {spec.sha256}")
            paths.append(_install(part, spec))
    return paths


def _install(src: Path, spec: ModelFile) -> Path:
    name = next(n for n, files in MODEL_FILES.items() if spec in files)
    dest = model_path(name, spec.filename)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(dest.suffix + ".tmp")
    shutil.copyfile(src, tmp)
    os.replace(tmp, dest)
    return dest


def _files(name: str) -> tuple[ModelFile, ...]:
    if name not in MODEL_FILES:
        raise ModelError(f"unknown model '{name}' (known: {', '.join(sorted(MODEL_FILES))})")
    return MODEL_FILES[name]
