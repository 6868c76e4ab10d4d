"""The delivery models in use: loaded once from the committed artifact, or retrained from the store's history
when the artifact is missing or was made for another version (then saved again where possible)."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from tools.logistics.artifact import ARTIFACT_DIR, IncompatibleArtifact, load, save
from tools.logistics.training import TrainedModels, TrainingConfig, train_from_store
from tools.store import Store

log = logging.getLogger(__name__)
_loaded: dict[Path, TrainedModels] = {}
_guard = threading.Lock()


def models_for(store: Store, folder: Path = ARTIFACT_DIR, config: TrainingConfig | None = None) -> TrainedModels:
    """The models in `folder`; retrained with `config` (default settings if None) when they can't be used."""
    with _guard:
        if folder not in _loaded:
            _loaded[folder] = _load_or_train(store, folder, config or TrainingConfig())
        return _loaded[folder]


def forget_loaded() -> None:
    """Drop the models in memory (after `shopagent logistics train` wrote new ones)."""
    with _guard:
        _loaded.clear()


def _load_or_train(store: Store, folder: Path, config: TrainingConfig) -> TrainedModels:
    try:
        return load(folder)
    except (FileNotFoundError, IncompatibleArtifact) as why:
        log.warning("%s: retraining the delivery models from the store's order history", why)
    models = train_from_store(store, config)
    try:
        save(models, folder)
    except OSError as error:  # a read-only install: keep the models in memory only
        log.warning("could not save the retrained delivery models to %s: %s", folder, error)
    return models
