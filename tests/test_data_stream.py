"""The stream: step t → indices and augmentation seed, a pure function of (seed, t)."""
import pytest
import torch

from spaced_kd.config import DatasetConfig
from spaced_kd.data import Stream, build_data
from spaced_kd.data.stream import mix_seed


def test_permutation_covers_every_sample_once_per_epoch_with_short_last_batch():
    s = Stream(10, 4, seed=0)
    assert s.steps_per_epoch == 3
    for epoch in range(3):
        parts = [s.indices(epoch * 3 + i) for i in range(3)]
        assert [len(p) for p in parts] == [4, 4, 2]
        assert sorted(torch.cat(parts).tolist()) == list(range(10))
        assert s.epoch_of(epoch * 3 + 2) == epoch
    assert not torch.equal(s.permutation(0), s.permutation(1))


def test_indices_do_not_depend_on_call_order_or_instance():
    a, b = Stream(50, 8, seed=3), Stream(50, 8, seed=3)
    late = [a.indices(t) for t in (20, 5, 13, 2)]
    assert torch.equal(late[3], b.indices(2))
    assert torch.equal(late[0], b.indices(20))
    assert a.aug_seed(7) == b.aug_seed(7)


def test_seeds_and_steps_differ():
    a, b = Stream(50, 8, seed=0), Stream(50, 8, seed=1)
    assert not torch.equal(a.indices(0), b.indices(0))
    assert a.aug_seed(0) != b.aug_seed(0)
    assert a.aug_seed(0) != a.aug_seed(1)
    assert not torch.equal(a.indices(0), a.indices(1))
    # augmentation seeds live in another domain than permutation seeds
    assert a.aug_seed(0) != mix_seed(0, 0, 0)
    assert 0 <= a.aug_seed(123) < 2**63


def test_returned_indices_are_copies():
    s = Stream(20, 5, seed=0)
    s.indices(0).zero_()
    assert sorted(torch.cat([s.indices(t) for t in range(4)]).tolist()) == list(range(20))


def test_negative_step_rejected():
    with pytest.raises(ValueError):
        Stream(10, 2, 0).indices(-1)


@pytest.fixture(scope="module")
def digits():
    return lambda seed: build_data(DatasetConfig(rotation=10), batch_size=64, seed=seed, device=torch.device("cpu"))


def test_materialising_a_step_twice_gives_identical_bytes(digits):
    d = digits(0)
    x1, y1 = d.train_batch(5)
    d.train_batch(2)
    x2, y2 = d.train_batch(5)
    assert torch.equal(x1, x2) and torch.equal(y1, y2)
    fresh_x, fresh_y = digits(0).train_batch(5)
    assert torch.equal(x1, fresh_x) and torch.equal(y1, fresh_y)


def test_different_seeds_and_steps_give_different_batches(digits):
    d0, d1 = digits(0), digits(1)
    assert not torch.equal(d0.train_batch(0)[0], d1.train_batch(0)[0])
    assert not torch.equal(d0.train_batch(0)[0], d0.train_batch(1)[0])


def test_train_batches_replays_in_given_order(digits):
    d = digits(0)
    steps = [3, 4, 5, 3, 4, 5, 2]
    got = list(d.train_batches(iter(steps)))
    assert [t for t, _, _ in got] == steps
    for t, x, y in got:
        ex, ey = d.train_batch(t)
        assert torch.equal(x, ex) and torch.equal(y, ey)


def test_last_short_batch_of_an_epoch(digits):
    d = digits(0)  # 1437 train samples, batch 64
    assert d.n_train == 1437 and d.steps_per_epoch == 23
    x, y = d.train_batch(22)
    assert x.shape[0] == y.shape[0] == 1437 - 22 * 64
    assert d.train_batch(23)[0].shape[0] == 64  # next epoch starts full again
