"""From outside the engine: the student's replayed batches are the teacher's, byte for byte."""
import hashlib
from pathlib import Path

import torch

from spaced_kd.build import build
from spaced_kd.config import load_config
from spaced_kd.engine import Engine, EngineState
from spaced_kd.schedules import JOINT, STUDENT, TEACHER
from spaced_kd.tracking import Progress, Tracker


def digest(x: torch.Tensor, y: torch.Tensor) -> str:
    return hashlib.sha256(x.cpu().numpy().tobytes() + y.cpu().numpy().tobytes()).hexdigest()


def run_recorded(tmp_path: Path, **overrides):
    cfg = load_config({"kd": {"name": "spaced"}, "interval": 1.5, "seed": 3,
                       "dataset": {"name": "digits", "train_subset": 200, "crop_padding": 2, "flip": True},
                       "trainer": {"epochs": 2, "batch_size": 32, "progress": False, "device": "cpu"}, **overrides})
    setup = build(cfg)
    seen = []
    step = setup.learner.step

    def recording_step(kind, t, x, y):
        seen.append((kind, t, digest(x, y)))
        return step(kind, t, x, y)

    setup.learner.step = recording_step
    tracker = Tracker(tmp_path, cfg.logger, {}, "t")
    Engine(events=setup.events, learner=setup.learner, data=setup.data, tracker=tracker,
           progress=Progress(False, 2, 10), save_checkpoint=lambda s: None,
           steps_per_epoch=setup.steps_per_epoch, total_steps=setup.plan.total_steps, log=lambda m: None
           ).run(EngineState())
    return setup, seen


def test_student_replays_exactly_the_teacher_batches(tmp_path):
    setup, seen = run_recorded(tmp_path)
    teacher = {t: h for kind, t, h in seen if kind == TEACHER}
    student = {t: h for kind, t, h in seen if kind == STUDENT}
    assert len(teacher) == len(student) == setup.plan.total_steps == 14
    assert teacher == student
    # augmentation is on, so distinct steps give distinct batches: the check is not vacuous
    assert len(set(teacher.values())) == len(teacher)
    # the replay comes after the teacher has moved on: s = 1.5 epochs × 7 steps = 10.5 → 11
    assert setup.plan.interval == 11
    order = [(kind, t) for kind, t, _ in seen]
    assert order.index((STUDENT, 0)) == order.index((TEACHER, 10)) + 1


def test_online_and_spaced_see_the_same_data_stream(tmp_path):
    _, spaced = run_recorded(tmp_path)
    _, online = run_recorded(tmp_path, kd={"name": "online"})
    assert {t: h for k, t, h in online if k == JOINT} == {t: h for k, t, h in spaced if k == TEACHER}
