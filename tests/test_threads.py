"""The CPU wait policy is chosen from the load when a run starts, never over the user's choice."""
import os

import pytest

from spaced_kd import threads


@pytest.fixture
def clean_env(monkeypatch):
    for key in threads.USER_CHOICES:
        monkeypatch.delenv(key, raising=False)


def test_idle_cores_from_two_samples(tmp_path):
    stat = tmp_path / "stat"
    snapshots = iter(["cpu  100 0 100 800 0 0 0 0 0 0\n", "cpu  150 0 150 900 0 0 0 0 0 0\n"])

    def read():
        stat.write_text(next(snapshots))
        return threads._cpu_times(stat)

    # 100 of 200 jiffies idle on 2 cores: one core's worth idle
    assert threads.idle_cores(0.0, read, cores=2) == pytest.approx(1.0)
    assert threads._cpu_times(tmp_path / "missing") is None


def test_busy_machine_gets_sleeping_threads(clean_env):
    cores = os.cpu_count() or 1
    assert threads.choose_wait_policy(0.0, lambda s: cores - 1.0) == "PASSIVE"
    assert os.environ["OMP_WAIT_POLICY"] == "PASSIVE"


def test_quiet_machine_keeps_spinning_threads(clean_env):
    cores = os.cpu_count() or 1
    assert threads.choose_wait_policy(0.0, lambda s: cores - 0.1) is None
    assert "OMP_WAIT_POLICY" not in os.environ
    assert threads.choose_wait_policy(0.0, lambda s: None) is None  # unknown load: leave it


def test_the_users_choice_wins(clean_env, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert threads.choose_wait_policy(0.0, lambda s: 0.0) is None
    assert "OMP_WAIT_POLICY" not in os.environ
