"""recipe.bn_split: BatchNorm as the release's 2-GPU nn.DataParallel computes it, on one device.

DataParallel scatters the batch with torch.chunk, each replica normalises its chunk alone, and only
replica 0's running statistics survive; the gradients are those of the gathered loss. So a ghost
network must equal one plain network run on each chunk separately, the other chunks' running
statistics thrown away."""
import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from spaced_kd import recipe
from spaced_kd.build import build
from spaced_kd.config import load_config
from spaced_kd.errors import UserError
from spaced_kd.learners import frozen_bn_stats
from spaced_kd.models.ghost_bn import GhostBatchNorm, ghost_batchnorm
from spaced_kd.models.registry import build_model
from spaced_kd.models.stacked import StackedNets, StackRefused


def net(seed=0):
    torch.manual_seed(seed)
    return build_model("resnet8", num_classes=10, in_channels=3, image_size=16)


def bns(module):
    return [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


def batch(n=10, seed=1):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 3, 16, 16, generator=g), torch.randint(0, 10, (n,), generator=g)


def per_chunk(plain, x, y, splits=2):
    """The reference: the plain network on each torch.chunk of the batch; only chunk 0 keeps its
    running statistics; the loss is the mean over the whole batch, as DataParallel's gathered loss."""
    outs = []
    for i, (xc, yc) in enumerate(zip(x.chunk(splits), y.chunk(splits))):
        if i == 0:
            outs.append(plain(xc))
        else:
            with frozen_bn_stats(plain):
                outs.append(plain(xc))
    logits = torch.cat([o[0] for o in outs])
    F.cross_entropy(logits, y).backward()
    return logits, torch.cat([o[1] for o in outs])


@pytest.mark.parametrize("n", [10, 9])  # 9: torch.chunk's 5 + 4, as DataParallel scatters it
def test_a_ghost_network_equals_the_network_on_each_half(n):
    plain = net()
    ghost = ghost_batchnorm(copy.deepcopy(plain), 2)
    assert len(bns(ghost)) == len(bns(plain)) and all(isinstance(m, GhostBatchNorm) for m in bns(ghost))
    plain.train(), ghost.train()
    x, y = batch(n)
    ref_logits, ref_feat = per_chunk(plain, x, y)
    logits, feat = ghost(x)
    F.cross_entropy(logits, y).backward()
    assert torch.allclose(logits, ref_logits, atol=1e-6) and torch.allclose(feat, ref_feat, atol=1e-6)
    for (name, p), q in zip(plain.named_parameters(), ghost.parameters()):
        assert torch.allclose(p.grad, q.grad, atol=1e-6, rtol=1e-5), name
    for (name, a), b in zip(plain.named_buffers(), ghost.buffers()):  # running stats of half 0 alone
        assert torch.allclose(a.float(), b.float(), atol=1e-7), name
    # and the halves really differ from one BatchNorm over the whole batch
    whole = copy.deepcopy(net()).train()
    assert not torch.allclose(whole(x)[0], logits, atol=1e-4)


def test_the_layer_normalises_each_chunk_alone_and_only_chunk_0_moves_the_statistics():
    torch.manual_seed(0)
    bn = nn.BatchNorm2d(4)
    with torch.no_grad():
        bn.weight.uniform_(0.5, 2.0), bn.bias.uniform_(-1, 1)
    ghost = ghost_batchnorm(copy.deepcopy(bn), 3)
    x = torch.randn(8, 4, 5, 5) * 3 + 1  # chunks of 3, 3, 2
    ref = torch.cat([bn(x[:3])] + [F.batch_norm(c, None, None, bn.weight, bn.bias, True, 0.0, bn.eps)
                                   for c in (x[3:6], x[6:])])
    assert torch.equal(ghost(x), ref)
    assert torch.equal(ghost.running_mean, bn.running_mean) and torch.equal(ghost.running_var, bn.running_var)
    assert int(ghost.num_batches_tracked) == 1
    out = ghost(x).detach()
    for lo, hi in ((0, 3), (3, 6), (6, 8)):  # each chunk standardised by its own statistics
        zc = (out[lo:hi] - bn.bias.view(1, -1, 1, 1)) / bn.weight.view(1, -1, 1, 1)
        assert torch.allclose(zc.mean((0, 2, 3)), torch.zeros(4), atol=1e-5)


def test_eval_mode_and_frozen_statistics_are_plain_batchnorm():
    plain = net()
    x, y = batch()
    for _ in range(2):  # some running statistics to read
        plain.train()(x)
    ghost = ghost_batchnorm(copy.deepcopy(plain), 2)
    plain.eval(), ghost.eval()
    with torch.no_grad():
        assert torch.equal(plain(x)[0], ghost(x)[0])
    # a forward that only teaches (track_running_stats=False) leaves every buffer as it was
    ghost.train()
    before = copy.deepcopy(ghost.state_dict())
    with frozen_bn_stats(ghost), torch.no_grad():
        ghost(x)
    assert all(torch.equal(before[k], v) for k, v in ghost.state_dict().items())
    assert list(before) == list(plain.state_dict())  # checkpoints keep their keys


def test_a_stack_of_ghost_networks_equals_each_alone():
    """trainer.stack_students: one BatchNorm call per chunk over every member, bit-identical on the CPU."""
    apart = [ghost_batchnorm(net(seed), 2) for seed in (0, 1)]
    together = copy.deepcopy(apart)
    stack = StackedNets(together)
    for step in range(2):
        x, y = batch(10, seed=step)
        for n in apart + together:
            n.train(), n.zero_grad(set_to_none=True)
        outs_a = [n(x) for n in apart]
        sum(F.cross_entropy(o[0], y) for o in outs_a).backward()
        outs_b = stack(x)
        sum(F.cross_entropy(o[0], y) for o in outs_b).backward()
        for (la, _), (lb, _) in zip(outs_a, outs_b):
            assert torch.equal(la, lb)
        for a, b in zip(apart, together):
            for pa, pb in zip(a.parameters(), b.parameters()):
                assert torch.equal(pa.grad, pb.grad)
            for va, vb in zip(a.state_dict().values(), b.state_dict().values()):
                assert torch.equal(va, vb)
    with pytest.raises(StackRefused, match="split the batch differently"):
        StackedNets([ghost_batchnorm(net(0), 2), net(1)])


BASE = {"dataset": {"name": "digits", "train_subset": 64}, "trainer": {"epochs": 2, "batch_size": 32,
        "device": "cpu", "progress": False}}


def splits_of(module):
    return {m.splits if isinstance(m, GhostBatchNorm) else 1 for m in bns(module)}


def test_official_splits_the_release_resnet_scripts_only():
    from test_recipe import composed
    assert recipe.bn_split(composed("recipe=official")) == 2
    assert recipe.bn_split(composed("recipe=official", "kd_mode=self")) == 2  # self.sh: 2 GPUs too
    assert recipe.bn_split(composed("recipe=official", "model=deit_tiny")) == 1  # the ViT pipeline: 1 GPU
    assert recipe.bn_split(composed("recipe=official", "teacher=deit_tiny", "model=resnet18")) == 1
    assert recipe.bn_split(composed()) == 1
    peer = build(load_config({**BASE, "recipe": {"bn_split": 2}})).learner
    assert splits_of(peer.student) == splits_of(peer.teacher) == {2}
    self_kd = build(load_config({**BASE, "kd_mode": {"name": "self"}, "recipe": {"bn_split": 2}})).learner
    assert splits_of(self_kd.net) == {2}
    assert splits_of(build(load_config(BASE)).learner.student) == {1}


def test_bn_split_with_sync_bn_is_refused_in_one_line():
    with pytest.raises(UserError, match="recipe.bn_split=2 .* trainer.sync_bn"):
        build(load_config({**BASE, "recipe": {"bn_split": 2}, "trainer": {**BASE["trainer"], "sync_bn": True}}))
    with pytest.raises(UserError, match="recipe.bn_split must be an integer >= 1"):
        load_config({**BASE, "recipe": {"bn_split": 0}})
