"""Old model files go (about 80 MB each); the active, the previous and `make run`'s stay."""

from __future__ import annotations

import time
from pathlib import Path

from desk.admin.registry import ModelRegistry
from desk.db import make_engine, migrate


def test_only_the_newest_files_trained_here_are_kept(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'desk.db'}")
    migrate(engine)
    registry = ModelRegistry(engine)

    def model(model_id: str, mode: str = "full") -> Path:
        path = tmp_path / f"{model_id}.tar.gz"
        path.write_bytes(b"model")
        registry.create(model_id, path, mode, None, "admin", {}, status="trained")
        time.sleep(0.02)  # distinct creation times: "newest" is well defined
        return path

    base = model("base", mode="external")  # built by `make run`, never pruned
    paths = {name: model(name) for name in ["m1", "m2", "m3", "m4", "m5", "m6"]}
    registry.mark_active("m1")  # promoted, then rolled forward: m1 is the rollback target
    time.sleep(0.02)
    registry.mark_active("m2")
    registry.create("m7", tmp_path / "m7.tar.gz", "full", None, "admin", {})  # still training

    pruned = registry.prune(keep=2)

    assert sorted(pruned) == ["m3", "m4"]  # kept: m6, m5 (newest), m2 (active), m1 (previous)
    for name in ["m1", "m2", "m5", "m6"]:
        assert paths[name].exists()
    assert base.exists()
    assert not paths["m3"].exists() and not paths["m4"].exists()
    statuses = {m["id"]: m["status"] for m in registry.all()}
    assert statuses["m3"] == statuses["m4"] == "pruned" and statuses["m7"] == "training"
    assert registry.prune(keep=2) == []  # nothing more to do
    engine.dispose()
