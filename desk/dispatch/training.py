"""Training and caching the dispatch model of a city.

The model is keyed by a fingerprint of the profile, the training messages and the
dispatchers' corrections, so desk retrains only when one of them changed (seconds on
two cores) and otherwise loads the cached model.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from pathlib import Path
from typing import Dict, List, Sequence

from desk.city.profile import CityProfile
from desk.dispatch.classifier import Dispatcher
from desk.dispatch.dataset import Example, fingerprint, load_examples
from desk.dispatch.model import DispatchModel

log = logging.getLogger(__name__)
MODEL_VERSION = "2"
_loaded: Dict[str, DispatchModel] = {}
_lock = threading.Lock()


def data_dir_for(profile_path: Path) -> Path:
    """desk/city/shifan.yaml keeps its dispatch data in desk/city/shifan/dispatch/."""
    return profile_path.parent / profile_path.stem / "dispatch"


def training_examples(
    profile: CityProfile, data_dir: Path, corrections: Sequence[Example] = ()
) -> List[Example]:
    return load_examples(data_dir, "train_*.yml", profile) + list(corrections)


def build_dispatcher(
    profile: CityProfile,
    data_dir: Path,
    cache_dir: Path,
    corrections: Sequence[Example] = (),
) -> Dispatcher:
    """A dispatcher with the city's trained model, or keyword rules without data."""
    examples = training_examples(profile, data_dir, corrections)
    if not examples:
        log.info("desk.dispatch.rules_only data_dir=%s", data_dir)
        return Dispatcher(profile)
    return Dispatcher(profile, _model(profile, examples, cache_dir))


def _model(profile: CityProfile, examples: List[Example], cache_dir: Path) -> DispatchModel:
    key = hashlib.sha256(
        f"{MODEL_VERSION}|{profile.json(sort_keys=True)}|{fingerprint(examples)}".encode()
    ).hexdigest()[:16]
    with _lock:
        if key in _loaded:
            return _loaded[key]
        path = cache_dir / f"dispatch-{key}.pkl"
        model = DispatchModel.load(path, profile)
        if model is None:
            started = time.monotonic()
            model = DispatchModel(profile).fit(examples)
            model.save(path)
            log.info(
                "desk.dispatch.trained examples=%d seconds=%.1f", len(examples), time.monotonic() - started
            )
        _loaded[key] = model
        return model
