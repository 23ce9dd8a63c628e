"""Tab. 4's methods (spaced_kd/methods): loss terms against hand computations, who learns from
whom and when, exact replay, resume after SIGKILL in a multi-network schedule, one-line refusals."""
import copy
import math
import signal

import pytest
import torch
import torch.nn.functional as F
from hydra import compose, initialize_config_dir

from helpers import FAST, ROOT, one_line_error, summary, train
from spaced_kd.build import build
from spaced_kd.chains import chain_events
from spaced_kd.conf_store import register
from spaced_kd.config import load_config
from spaced_kd.engine import KILL_AT_ENV
from spaced_kd.methods import METHODS
from spaced_kd.methods.base import Out
from spaced_kd.methods.shake import normalised
from spaced_kd.methods.views import second_view
from spaced_kd.run import run
from spaced_kd.schedules import Plan

SMALL = ["dataset.train_subset=256", "trainer.batch_size=64", "dataset.test_subset=120", "trainer.progress=false",
         "model=resnet8"]
EVERY = ["ban", "takd", "dml", "shake", "dlb", "pskd"]
# the CIFAR ResNets keep the multi-network methods small (conf/method names Tab. 4's bigger chains)
TINY_CHAIN = {"takd": ["teacher.name=resnet14", "method.assistants=[resnet8]"], "shake": ["teacher.name=resnet14"]}


def cfg_of(*overrides):
    register()
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base=None):
        return load_config(compose(config_name="config", overrides=[*SMALL, *overrides]))


def setup_of(*overrides):
    torch.manual_seed(0)
    return build(cfg_of(*overrides), device=torch.device("cpu"))


def kl(p_logits, q_logits):
    """KL(softmax(p) ‖ softmax(q)) by hand, batch mean."""
    p = torch.softmax(p_logits.double(), 1)
    return float((p * (p.log() - torch.log_softmax(q_logits.double(), 1))).sum(1).mean())


def weights(net):
    return {k: v.clone() for k, v in net.state_dict().items()}


def same(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


# ------------------------------------------------------------------ schedules over chains

def trace(schedule, n_nets, T=4, s=2):
    roles = [f"n{k}" for k in range(n_nets)]
    return [repr(e) for e in chain_events([schedule] * (n_nets - 1), [Plan(T, s)] * (n_nets - 1), roles)]


def test_chain_offline_waits_for_each_network_to_finish():
    assert trace("offline", 3, T=2) == ["n00", "n01", "n10", "n11", "n20", "n21"]


def test_chain_spaced_keeps_each_network_one_interval_behind_the_one_before():
    assert trace("spaced", 3) == ["n00", "n01", "n10", "n11", "n20", "n21", "n02", "n03", "n12", "n13", "n22", "n23"]


def test_chain_online_learns_together():
    assert trace("online", 3, T=2) == ["n0+n1+n20", "n0+n1+n21"]


@pytest.mark.parametrize("schedule", ["online", "spaced", "ahead", "offline"])
def test_every_network_learns_every_step_once_in_order(schedule):
    events = chain_events([schedule] * 3, [Plan(7, 3)] * 3, ["a", "b", "c", "d"])
    for role in "abcd":
        assert [e.step for e in events if role in e.roles] == list(range(7))


def test_a_pretrained_first_network_takes_no_steps():
    plans = [Plan(3, 1, teacher_pretrained=True), Plan(3, 1)]
    events = chain_events(["offline", "online"], plans, ["t", "h", "s"])
    assert [repr(e) for e in events] == ["h+s0", "h+s1", "h+s2"]


# ------------------------------------------------------------------ loss terms by hand

def batch(setup, t=0):
    return setup.data.train_batch(t)


def test_dml_each_peer_learns_ce_plus_kl_to_the_other():
    s = setup_of("method=dml", "kd=online")
    lr = s.learner
    x, y = batch(s)
    a, b = torch.randn(5, 10), torch.randn(5, 10)
    y5 = y[:5]
    for k, own, peer in ((0, a, b), (1, b, a)):
        parts = lr.loss(k, 0, Out(own, own), y5, {1 - k: Out(peer, peer)})
        assert parts["ce"].item() == pytest.approx(F.cross_entropy(own, y5).item(), rel=1e-6)
        assert parts["kd"].item() == pytest.approx(kl(peer, own), rel=1e-5)  # KL(p_peer ‖ p_self), T = 1, weight 1


def test_dml_joint_order_updates_both_peers_from_each_others_pre_update_outputs():
    s = setup_of("method=dml", "kd=online", "method.order=joint", "optim.lr=0.1", "optim.nesterov=false")
    lr = s.learner
    x, y = batch(s)
    t0, s0 = weights(lr.nets["teacher"]), weights(lr.nets["student"])
    # by hand, on train-mode copies: forward both, each loss against the other's detached output,
    # one SGD step each
    ta, sa = copy.deepcopy(lr.nets["teacher"]).train(), copy.deepcopy(lr.nets["student"]).train()
    oa, ob = ta(x)[0], sa(x)[0]
    la = F.cross_entropy(oa, y) + F.kl_div(F.log_softmax(oa, 1), F.log_softmax(ob.detach(), 1), reduction="batchmean", log_target=True)
    lb = F.cross_entropy(ob, y) + F.kl_div(F.log_softmax(ob, 1), F.log_softmax(oa.detach(), 1), reduction="batchmean", log_target=True)
    la.backward(), lb.backward()
    lr.learn([0, 1], 0, x, y)
    for mine, ref, before in ((lr.nets["teacher"], ta, t0), (lr.nets["student"], sa, s0)):
        p = dict(mine.named_parameters())
        for name, q in ref.named_parameters():
            assert not torch.equal(p[name], before[name])
            # SGD, momentum 0.9 (first step: v = g), weight decay 5e-4: w − lr·(g + wd·w)
            want = before[name] - 0.1 * (q.grad + 5e-4 * before[name])
            assert torch.allclose(p[name], want, atol=1e-6), name


@pytest.mark.parametrize("views", [True, False])
def test_dlb_second_step_distils_from_its_own_previous_step(views):
    s = setup_of("method=dlb", "kd=none", f"method.second_view={str(views).lower()}")
    lr = s.learner
    x0, y0 = batch(s, 0)
    x1, y1 = batch(s, 1)
    # batch 0 comes back as its second augmented view (the release's), or as the same tensors
    refed = second_view(s.data, 0) if views else x0
    net = lr.nets["student"]
    net.train()
    with torch.no_grad():
        before = net(x0)[0]  # pre-update output of step 0 (BN statistics move, logits do not depend on them in train mode)
    parts0 = lr.learn([0], 0, x0, y0)
    assert "kd" not in parts0  # the first step has no previous batch
    assert torch.allclose(lr.prev["logits"], before, atol=1e-5) and torch.equal(lr.prev["x"], refed)
    # step 1 by hand: CE over [batch 0 again; batch 1] + T²·KL(p_prev ‖ p_now on batch 0 again), T = 3, weight 1
    ref = copy.deepcopy(net)
    ref.train()
    with torch.no_grad():
        out1, again = ref(x1)[0], ref(refed)[0]
    ce = F.cross_entropy(torch.cat([again, out1]), torch.cat([y0, y1]))
    T = 3.0
    kd = T * T * kl(before / T, again / T)
    parts1 = lr.learn([0], 1, x1, y1)
    assert parts1["ce"].item() == pytest.approx(ce.item(), rel=1e-4)
    assert parts1["kd"].item() == pytest.approx(kd, rel=1e-3)


def test_pskd_targets_mix_labels_and_last_epochs_predictions_progressively():
    s = setup_of("method=pskd", "kd=none", "trainer.epochs=4")
    lr = s.learner
    spe = s.steps_per_epoch
    net = lr.nets["student"]
    x, y = batch(s, 0)
    idx = s.data.stream.indices(0)
    lr.learn([0], 0, x, y)
    stored = lr.teacher_state["past"][idx].clone()
    assert torch.allclose(stored.sum(1), torch.ones(len(idx)), atol=1e-5)  # softmax rows
    # in epoch 1, the same samples' target is (1 − α)·onehot + α·stored with α = 0.8·2/4
    t = next(t for t in range(spe, 2 * spe) if set(s.data.stream.indices(t).tolist()) & set(idx.tolist()))
    xt, yt = batch(s, t)
    it = s.data.stream.indices(t)
    past_t = lr.teacher_state["past"][it].clone()
    with torch.no_grad():
        logits = copy.deepcopy(net).train()(xt)[0]
    alpha = 0.8 * 2 / 4
    target = (1 - alpha) * F.one_hot(yt, logits.shape[1]).float() + alpha * past_t
    want = -(target * F.log_softmax(logits, 1)).sum(1).mean()
    got = lr.learn([0], t, xt, yt)["ce"]
    assert got.item() == pytest.approx(want.item(), rel=1e-5)
    assert not torch.allclose(past_t, F.one_hot(yt, logits.shape[1]).float())  # the table moved on from labels


def test_shake_losses_and_a_frozen_teacher():
    s = setup_of("method=shake", "kd=online", "teacher.name=resnet14", "trainer.epochs=1")
    lr = s.learner
    B, C = 6, 10
    z_s, z_h, z_t = torch.randn(B, C), torch.randn(B, C), torch.randn(B, C)
    y = torch.randint(0, C, (B,))
    T = 4.0
    stu = lr.loss(2, 0, Out(z_s, z_s), y, {1: Out(z_h, z_h)})
    ns, nh, nt = normalised(z_s), normalised(z_h), normalised(z_t)
    assert torch.allclose(ns.std(1, unbiased=False), torch.full((B,), math.pi), atol=1e-4)
    assert stu["ce"].item() == pytest.approx(F.cross_entropy(ns, y).item(), rel=1e-5)
    assert stu["kd"].item() == pytest.approx(T * T * kl(nh / T, ns / T), rel=1e-4)
    sh = lr.loss(1, 0, Out(z_h, z_h), y, {0: Out(z_t, z_t), 2: Out(z_s, z_s)})
    assert sh["kd"].item() == pytest.approx(T * T * kl(ns / T, nh / T), rel=1e-4)
    assert sh["mse"].item() == pytest.approx(F.mse_loss(nh, nt).item(), rel=1e-5)
    assert sh["ce"].item() == pytest.approx(F.cross_entropy(nh, y).item(), rel=1e-5)
    # the shadow head's optimiser holds its own weights only; the teacher is not among them
    shadow_params = {id(p) for g in lr.optimizers["shadow"].param_groups for p in g["params"]}
    assert not shadow_params & {id(p) for p in lr.nets["teacher"].parameters()}
    # shadow and student steps leave the trained teacher as it is
    x, yb = batch(s)
    before = weights(lr.nets["teacher"])
    lr.learn([1, 2], 0, x, yb)
    lr.learn([1], 1, *batch(s, 1))
    assert same(before, weights(lr.nets["teacher"]))


def test_ban_generations_hand_over_down_the_chain():
    s = setup_of("method=ban", "kd=offline", "method.generations=2", "trainer.epochs=1")
    assert s.learner.roles == ["teacher", "gen1", "student"]
    T = s.plan.total_steps
    kinds = [e.roles for e in s.events()]
    assert kinds == [("teacher",)] * T + [("gen1",)] * T + [("student",)] * T
    lr = s.learner
    assert lr.teachers_of(2) == [1] and lr.teachers_of(1) == [0] and lr.teachers_of(0) == []
    # the BAN paper's term: the teacher's outputs alone at T = 1, no label CE
    paper = setup_of("method=ban", "kd=offline", "method.generations=2", "trainer.epochs=1", "loss.alpha=1",
                     "loss.temperature=1", "loss.logit=kl").learner
    a, b = torch.randn(4, 10), torch.randn(4, 10)
    parts = paper.loss(2, 0, Out(a, a), torch.zeros(4, dtype=torch.long), {1: Out(b, b)})
    assert parts["ce"].item() == 0.0 and parts["kd"].item() == pytest.approx(kl(b, a), rel=1e-5)


def test_takd_chain_shrinks_teacher_assistant_student():
    s = setup_of("method=takd", "kd=offline", "teacher.name=resnet20", "method.assistants=[resnet14]", "trainer.epochs=1")
    lr = s.learner
    assert lr.roles == ["teacher", "assistant", "student"]
    sizes = [sum(p.numel() for p in lr.nets[r].parameters()) for r in lr.roles]
    assert sizes[0] > sizes[1] > sizes[2]
    a, b = torch.randn(4, 10), torch.randn(4, 10)
    y = torch.randint(0, 10, (4,))
    parts = lr.loss(2, 0, Out(a, a), y, {1: Out(b, b)})  # (1 − λ)·CE + λ·T²·KL/C, λ = 0.5, T = 5
    assert parts["ce"].item() == pytest.approx(0.5 * F.cross_entropy(a, y).item(), rel=1e-5)
    assert parts["kd"].item() == pytest.approx(0.5 * 25 * kl(b / 5, a / 5) / 10, rel=1e-4)  # C = 10


# ------------------------------------------------------------------ whole runs

@pytest.mark.parametrize("method", EVERY)
@pytest.mark.parametrize("kd", ["online", "spaced"])
def test_every_method_completes_online_and_spaced(tmp_path, method, kd):
    cfg = cfg_of(f"method={method}", f"kd={kd}", "trainer.epochs=2", "interval=0.5", "trainer.threads=1",
                 *TINY_CHAIN.get(method, []))
    s = run(cfg, tmp_path / "run", log=lambda *_: None)
    assert s["status"] == "completed" and math.isfinite(s["metrics"]["student_acc"])
    roles = {k[: -len("_acc")] for k in s["metrics"] if k.endswith("_acc") and "best" not in k}
    assert {"teacher", "student"} <= roles


@pytest.mark.parametrize("method", ["dlb", "pskd"])
def test_a_self_trained_teacher_does_not_depend_on_its_student(tmp_path, method):
    """The teacher's trajectory is the method's alone: the same after online and spaced KD, and the
    same network kd=none trains (Tab. 4's w/o KD column)."""
    final = {}
    for kd in ("none", "online", "spaced"):
        cfg = cfg_of(f"method={method}", f"kd={kd}", "trainer.epochs=2", "interval=0.5", "trainer.threads=1")
        run(cfg, tmp_path / kd, log=lambda *_: None)
        state = torch.load(tmp_path / kd / "checkpoints" / "last.pt", weights_only=True)["learner"]
        final[kd] = state["models"]["student" if kd == "none" else "teacher"]
    assert same(final["online"], final["spaced"]) and same(final["none"], final["online"])


def test_sigkill_in_a_three_network_spaced_chain_then_resume_is_exact(tmp_path):
    args = [*FAST, "method=ban", "method.generations=2", "kd=spaced", "interval_unit=steps", "interval=3",
            "trainer.checkpoint_every=2"]
    straight = tmp_path / "straight"
    assert train(*args, f"hydra.run.dir={straight}").returncode == 0
    crashed = tmp_path / "crashed"
    for kill_at in (5, 13, 20):  # inside the first gen1 block, a student block, a later teacher block
        r = train(*args, f"hydra.run.dir={crashed}", env={KILL_AT_ENV: str(kill_at)})
        assert r.returncode == -signal.SIGKILL, r.stderr[-500:]
    r = train(*args, f"hydra.run.dir={crashed}")
    assert r.returncode == 0 and "resuming" in r.stdout, r.stderr
    a = torch.load(straight / "checkpoints" / "last.pt", weights_only=True)["learner"]
    b = torch.load(crashed / "checkpoints" / "last.pt", weights_only=True)["learner"]
    for role in ("teacher", "gen1", "student"):
        assert same(a["models"][role], b["models"][role]), role
    assert summary(straight)["metrics"] == summary(crashed)["metrics"]


def test_sigkill_keeps_dlb_state_exact(tmp_path):
    args = [*FAST, "method=dlb", "kd=spaced", "interval_unit=steps", "interval=3", "trainer.checkpoint_every=2"]
    straight, crashed = tmp_path / "straight", tmp_path / "crashed"
    assert train(*args, f"hydra.run.dir={straight}").returncode == 0
    r = train(*args, f"hydra.run.dir={crashed}", env={KILL_AT_ENV: "7"})
    assert r.returncode == -signal.SIGKILL
    assert train(*args, f"hydra.run.dir={crashed}").returncode == 0
    a = torch.load(straight / "checkpoints" / "last.pt", weights_only=True)["learner"]
    b = torch.load(crashed / "checkpoints" / "last.pt", weights_only=True)["learner"]
    for role in ("teacher", "student"):
        assert same(a["models"][role], b["models"][role]), role
    assert torch.equal(a["method"]["prev"]["logits"], b["method"]["prev"]["logits"])


# ------------------------------------------------------------------ refusals, registry

def test_the_method_group_and_the_registry_agree():
    files = {p.stem for p in (ROOT / "conf" / "method").glob("*.yaml")}
    assert files == set(METHODS.names()) | {"none"}


@pytest.mark.parametrize("args, words", [
    (["method=dml", "kd_mode=self"], "kd_mode=peer"),
    (["method=dlb", "recipe=official"], "recipe=default"),
    (["method=takd", "method.assistants=[]"], "assistant"),
    (["method=shake", "teacher=deit_tiny"], "ResNet teacher"),
    (["method=dml", "loss.feature=mse_mean", "loss.beta=0.1"], "loss.feature=none"),
    (["method=dml", "method.temperature=0"], "method.temperature"),
    (["method=ban", "kd=online", "teacher.checkpoint=/nonexistent"], "kd=offline"),
])
def test_bad_method_settings_get_one_line(tmp_path, args, words):
    r = train(*FAST, *args, f"hydra.run.dir={tmp_path / 'r'}")
    assert words in one_line_error(r)


# ------------------------------------------------------------------ cohorts, analysis

def test_a_cohort_runs_a_method_alone_and_says_why():
    from spaced_kd.cohort.grouping import why_alone

    assert "method=dml" in why_alone(cfg_of("method=dml", "kd=online"))
    assert why_alone(cfg_of("kd=online")) is None


def test_table4_fills_each_methods_row_from_its_own_runs(tmp_path):
    from analysis_fakes import make_run
    from analysis.collect import collect
    from analysis.tables import build_table

    def runs(method, own, kd, accs, interval=None):
        cfg = {"model.name": "resnet18", "dataset.name": "cifar100", "kd.name": kd, "method.name": method,
               "method.kd": own}
        if interval is not None:
            cfg["interval"] = interval
        for seed, acc in enumerate(accs):
            make_run(tmp_path, f"{method}-{kd}/seed={seed}", cfg=cfg, student_acc=acc, seed=seed)

    runs("ban", "offline", "none", [70.0, 72.0])
    runs("ban", "offline", "offline", [73.0, 75.0])
    runs("ban", "offline", "online", [10.0, 10.0])  # not BAN's KD column: BAN is published offline
    runs("ban", "offline", "spaced", [76.0, 77.0], interval=1.5)
    runs("dml", "online", "none", [60.0, 60.0])     # DML's own pipeline: only its own row
    runs("dml", "online", "online", [65.0, 66.0])
    runs("dml", "online", "spaced", [67.0, 69.0], interval=1.5)
    cells = build_table(collect(tmp_path), 4).cells

    def value(method, column):
        row = cells[(cells["method"] == method) & (cells["column"] == column)]
        assert len(row) == 1, (method, column, cells)
        return row.iloc[0]["mean"]

    assert value("BAN", "w/o KD") == pytest.approx(71.0) and value("DML", "w/o KD") == pytest.approx(60.0)
    assert value("BAN", "KD") == pytest.approx(74.0) and value("DML", "KD") == pytest.approx(65.5)
    assert value("BAN", "w/ Ours") == pytest.approx(76.5) and value("BAN", "Δ") == pytest.approx(2.5)
    assert value("DML", "Δ") == pytest.approx(2.5)


@pytest.mark.parametrize("method", ["dlb", "pskd", "ban"])
def test_a_cohort_of_a_methods_runs_matches_each_run_alone(tmp_path, method):
    """DLB's and PSKD's teachers (and BAN's first generation) learn from the labels and their own
    state alone: one teacher serves every schedule, each member bit-identical to its run alone,
    the method's state (last batch, prediction table) included."""
    from cohort_helpers import ARMS, assert_same_run, cfg_for
    from spaced_kd.cohort.grouping import teacher_key, why_alone
    from spaced_kd.cohort.member import COMPLETED, MemberSpec
    from spaced_kd.cohort.runner import run_cohort
    from spaced_kd.run import resolved

    extra = {"method": {"name": method}, "loss": {"feature": "none"}}
    configs = {f"{kd}-{s}": cfg_for(kd, s, **extra) for kd, s in ARMS}
    assert all(why_alone(c) is None for c in configs.values())
    assert len({teacher_key(resolved(c)) for c in configs.values()}) == 1
    for name, cfg in configs.items():
        run(cfg, tmp_path / "alone" / name, log=lambda *_: None)
    members = run_cohort([MemberSpec(cfg, tmp_path / "cohort" / name, name=name) for name, cfg in configs.items()],
                         log=lambda *_: None)
    assert {m.status for m in members} == {COMPLETED}
    assert len({id(m.learner.teacher) for m in members if m.has_teacher}) == 1
    for name in configs:
        assert_same_run(tmp_path / "alone" / name, tmp_path / "cohort" / name)
