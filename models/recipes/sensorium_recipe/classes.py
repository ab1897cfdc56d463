"""The class list: `classes` of the fusion model's manifest (models/fusion/manifest.toml), the class name
of each channel of its `class_logits` output, background first. The runtime, the metrics and the recipe
read it from there."""
from __future__ import annotations

import os
import tomllib

from .paths import MODELS_DIR

FUSION_DIR = "fusion"


def manifest_path(models_dir: str = MODELS_DIR) -> str:
    return os.path.join(models_dir, FUSION_DIR, "manifest.toml")


def load(models_dir: str = MODELS_DIR) -> list[str]:
    """The `classes` of `models_dir`/fusion/manifest.toml."""
    path = manifest_path(models_dir)
    try:
        with open(path, "rb") as f:
            classes = tomllib.load(f).get("classes")
    except FileNotFoundError:
        raise SystemExit(f"{path}: missing (the recipe reads its class list from the fusion manifest)") from None
    if not classes or not all(isinstance(c, str) and c for c in classes):
        raise SystemExit(f"{path}: needs `classes = [...]`, the class name of each class_logits channel")
    return list(classes)


CLASSES = load()
