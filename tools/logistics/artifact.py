"""The trained models on disk: a joblib file and a JSON file of metadata, checked before the models are loaded."""

from __future__ import annotations

import json
from pathlib import Path

import joblib

from tools.logistics.features import FEATURES
from tools.logistics.training import FORMAT_VERSION, TrainedModels

ARTIFACT_DIR = Path(__file__).parent / "artifacts"
MODELS_FILE = "delivery_models.joblib"
METADATA_FILE = "delivery_models.json"


class IncompatibleArtifact(RuntimeError):
    pass


def save(models: TrainedModels, folder: Path = ARTIFACT_DIR) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    joblib.dump({"quantiles": models.quantiles, "risk": models.risk}, folder / MODELS_FILE, compress=3)
    (folder / METADATA_FILE).write_text(json.dumps(models.metadata, indent=2) + "\n")
    return folder


def read_metadata(folder: Path = ARTIFACT_DIR) -> dict:
    path = folder / METADATA_FILE
    if not path.is_file() or not (folder / MODELS_FILE).is_file():
        raise FileNotFoundError(f"no trained delivery models in {folder}")
    return json.loads(path.read_text())


def incompatibility(metadata: dict) -> str | None:
    """Why these saved models cannot be used here; None when they can."""
    import sklearn

    if metadata.get("format") != FORMAT_VERSION:
        return f"format {metadata.get('format')} (this code reads {FORMAT_VERSION})"
    if metadata.get("features") != list(FEATURES):
        return "a different feature set"
    if metadata.get("sklearn_version") != sklearn.__version__:
        return f"scikit-learn {metadata.get('sklearn_version')} (installed: {sklearn.__version__})"
    return None


def load(folder: Path = ARTIFACT_DIR) -> TrainedModels:
    metadata = read_metadata(folder)
    reason = incompatibility(metadata)
    if reason:  # checked before unpickling: models pickled by another scikit-learn are not loaded at all
        raise IncompatibleArtifact(f"the saved delivery models were made for {reason}")
    saved = joblib.load(folder / MODELS_FILE)
    return TrainedModels(saved["quantiles"], saved["risk"], metadata)
