"""The per-process model holder's generation watcher, in-process with a real small model:
a worker follows newer generations to exactly the directory recorded, and never moves back
to an older generation (the race a stale read of the generation file used to cause: a worker
that had just reloaded and bumped the file to N+1 could act on its watcher's read of N and
swap the previous model back in)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

from tagger.api import state
from tagger.api.state import ModelHolder, bump_generation, read_generation
from tagger.corpus import Document
from tests.api.conftest import model_copy


@pytest.fixture()
def holder(small_model, tmp_path, monkeypatch):
    """A holder on ``current -> a`` with a generation file, its watcher running fast."""
    monkeypatch.setattr(state, "POLL_SECONDS", 0.02)
    a = model_copy(small_model, tmp_path / "a", version="state-a")
    model_copy(small_model, tmp_path / "b", version="state-b")
    link = tmp_path / "current"
    link.symlink_to(a)
    held = ModelHolder(link, reload_file=tmp_path / "generation")
    held.load_initial()
    held.ensure_worker_started()  # starts the watcher thread in this process
    return held


def repoint(link: Path, target: Path) -> None:
    staging = link.with_name("current.new")
    staging.symlink_to(target)
    staging.replace(link)


def wait_for(condition, seconds: float = 30) -> None:
    end = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < end, "condition not reached"
        time.sleep(0.02)


def test_a_newer_generation_loads_exactly_the_recorded_directory(holder, tmp_path):
    assert holder.tagger.version == "state-a"
    number = bump_generation(holder.reload_file, (tmp_path / "b").resolve(), "state-b")
    wait_for(lambda: holder.tagger.version == "state-b")
    assert holder.generation == number
    assert holder.loaded_dir == (tmp_path / "b").resolve()
    # the symlink was never repointed: the recorded directory, not the link, was followed
    assert (tmp_path / "current").resolve() == (tmp_path / "a").resolve()


def test_a_stale_generation_never_moves_the_process_back(holder, tmp_path):
    repoint(tmp_path / "current", tmp_path / "b")
    holder.reload_everywhere()  # generation 1, b, as an admin reload in this worker does
    assert holder.tagger.version == "state-b"
    assert read_generation(holder.reload_file).number == holder.generation == 1
    # What the watcher sees when its read of the file raced with that reload: the older
    # generation 0 naming the previous model.
    holder.reload_file.write_text(json.dumps(
        {"generation": 0, "model_dir": str((tmp_path / "a").resolve()), "version": "state-a"}))
    time.sleep(20 * state.POLL_SECONDS)  # many polls; any of them would have swapped
    assert holder.tagger.version == "state-b"
    assert holder.generation == 1


def test_the_watcher_ignores_its_own_bump(holder, tmp_path, caplog):
    caplog.set_level("INFO", logger="tagger.api.model")
    repoint(tmp_path / "current", tmp_path / "b")
    holder.reload_everywhere()
    time.sleep(10 * state.POLL_SECONDS)
    swaps = [r.getMessage() for r in caplog.records if "model swapped" in r.getMessage()]
    assert len(swaps) == 1, swaps  # the reload itself; the watcher loaded nothing more
    assert holder.tagger.version == "state-b"


def test_the_holder_compiles_single_abstract_scoring_when_asked(small_model, tmp_path):
    """Every model the API loads (start-up and reloads) scores single abstracts through the
    compiled kernel; the scores are the string path's."""
    held = ModelHolder(small_model, compiled_scoring=True)
    held.load_initial()
    assert "compiled_scorer_" in held.tagger.estimator.__dict__
    document = Document(id="x", title="Mamba", abstract="A selective state space model.")
    plain = ModelHolder(small_model)  # the default outside the API: the string path
    plain.load_initial()
    assert "compiled_scorer_" not in plain.tagger.estimator.__dict__
    np.testing.assert_allclose(held.tagger.score([document]), plain.tagger.score([document]),
                               atol=1e-6)
    reloaded = held.reload(model_copy(small_model, tmp_path / "b", version="state-b"))
    assert "compiled_scorer_" in reloaded.estimator.__dict__


def test_a_model_the_kernel_cannot_take_is_still_served(small_model, monkeypatch, caplog):
    from tagger.compiled import CompiledScorer

    def broken(self):
        raise RuntimeError("no machine code today")

    monkeypatch.setattr(CompiledScorer, "warm_up", broken)
    held = ModelHolder(small_model, compiled_scoring=True)
    with caplog.at_level("WARNING", logger="tagger.api.model"):
        held.load_initial()
    assert held.ready and held.error is None
    assert "string path" in caplog.text and "no machine code today" in caplog.text
    assert "compiled_scorer_" not in held.tagger.estimator.__dict__


def test_a_follower_retries_a_generation_it_failed_to_load(holder, tmp_path, caplog,
                                                          monkeypatch):
    """The reloading worker verified the directory, so a follower's failure is retried at
    the next polls: here the recorded directory only appears after a failed load."""
    monkeypatch.setattr(state, "FOLLOW_ATTEMPTS", 1000)  # polls are fast here; no giving up
    caplog.set_level("INFO", logger="tagger.api.model")
    staging = model_copy(tmp_path / "b", tmp_path / "late.staging", version="state-late")
    late = tmp_path / "late"
    number = bump_generation(holder.reload_file, late, "state-late")
    wait_for(lambda: any("refused" in r.getMessage() for r in caplog.records))
    assert holder.tagger.version == "state-a" and holder.generation < number
    staging.rename(late)
    wait_for(lambda: holder.tagger.version == "state-late")
    assert holder.generation == number
    assert not any("gave up" in r.getMessage() for r in caplog.records)


def test_a_follower_gives_up_after_a_few_attempts_and_says_so(holder, tmp_path, caplog):
    caplog.set_level("INFO", logger="tagger.api.model")
    number = bump_generation(holder.reload_file, tmp_path / "missing", "state-missing")
    wait_for(lambda: holder.generation == number)
    time.sleep(20 * state.POLL_SECONDS)  # many polls: no further attempt
    refusals = [r for r in caplog.records if "refused" in r.getMessage()]
    assert len(refusals) == state.FOLLOW_ATTEMPTS
    gave_up = [r.getMessage() for r in caplog.records if "gave up" in r.getMessage()]
    assert len(gave_up) == 1 and "state-missing" in gave_up[0] and "state-a" in gave_up[0]
    assert holder.tagger.version == "state-a"


def test_a_newer_generation_gets_its_own_attempts(small_model, tmp_path, caplog):
    """Failures of one generation do not count against the next reload's. No watcher thread
    here: the test calls the watcher's step itself, so it decides how many polls happen."""
    caplog.set_level("INFO", logger="tagger.api.model")
    held = ModelHolder(model_copy(small_model, tmp_path / "a", version="state-a"),
                       reload_file=tmp_path / "generation")
    held.load_initial()
    first = bump_generation(held.reload_file, tmp_path / "missing", "state-missing")
    for _ in range(state.FOLLOW_ATTEMPTS - 1):
        held._follow(read_generation(held.reload_file))
    assert held.generation < first  # still retrying it
    second = bump_generation(held.reload_file, tmp_path / "missing-too", "state-missing-too")
    held._follow(read_generation(held.reload_file))  # the first failure of this generation
    assert held.generation < second
    assert not any("gave up" in r.getMessage() for r in caplog.records)
    for _ in range(state.FOLLOW_ATTEMPTS - 1):
        held._follow(read_generation(held.reload_file))
    assert held.generation == second and held.tagger.version == "state-a"
    assert sum("gave up" in r.getMessage() for r in caplog.records) == 1
