"""Tab. 4's methods as their releases ran them: TAKD's element-mean KL and best-epoch hand-on,
DLB's second view, BAN's label term, DML's one-after-the-other order, each release's settings in
the grid, and each release's reporting rule in the table."""
import io

import pytest
import torch
import torch.nn.functional as F
from hydra import compose, initialize_config_dir

from helpers import ROOT
from spaced_kd.build import build
from spaced_kd.conf_store import register
from spaced_kd.config import load_config
from spaced_kd.data import Data
from spaced_kd.errors import UserError
from spaced_kd.methods.base import Out
from spaced_kd.methods.views import require_second_view, second_view

SMALL = ["dataset.train_subset=256", "trainer.batch_size=64", "dataset.test_subset=120", "trainer.progress=false",
         "model=resnet8", "trainer.threads=1"]
TINY_TAKD = ["method=takd", "teacher.name=resnet14", "method.assistants=[resnet8]", "trainer.epochs=3"]


def cfg_of(*overrides, small=True):
    register()
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base=None):
        return load_config(compose(config_name="config", overrides=[*(SMALL if small else []), *overrides]))


def setup_of(*overrides):
    torch.manual_seed(0)
    return build(cfg_of(*overrides), device=torch.device("cpu"))


def element_mean_kl(student, teacher, T):
    """Σ p_t (log p_t − log p_s) over every element, divided by B·C: nn.KLDivLoss()'s default."""
    log_s = torch.log_softmax(student.double() / T, 1)
    log_t = torch.log_softmax(teacher.double() / T, 1)
    return float((log_t.exp() * (log_t - log_s)).sum() / student.numel())


def weights(net):
    return {k: v.clone() for k, v in net.state_dict().items()}


def same(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def drive(setup, until=None):
    """Run the setup's events in order (each on its stream batch); `until(event)` stops before one."""
    for ev in setup.events():
        if until is not None and until(ev):
            return ev
        setup.learner.run_event(ev, *setup.data.train_batch(ev.step))
    return None


# ------------------------------------------------------------------ the grid's settings

def grid(method):
    return cfg_of("+sweep=table4", f"method={method}", small=False)


def test_the_table4_grid_runs_takd_as_its_release():
    c = grid("takd")
    assert c.loss.logit == "kl_per_element" and (c.loss.alpha, c.loss.temperature) == (0.5, 5.0)
    o = c.optim
    assert (o.name, o.lr, o.momentum, o.nesterov, o.weight_decay) == ("sgd", 0.01, 0.9, False, 1e-4)
    assert (o.scheduler, list(o.milestones), o.gamma, c.trainer.epochs) == ("step", [120], 0.1, 160)
    assert (c.dataset.crop_padding, c.dataset.flip, c.dataset.rotation) == (0, False, 0.0)
    assert c.trainer.batch_size == 128 and c.method.from_best is None  # best-by-test peeks: off


def test_the_table4_grid_gives_ban_a_label_term_dml_its_order_dlb_its_second_view():
    ban = grid("ban").loss
    assert (ban.alpha, ban.temperature, ban.logit, ban.t2_scaling) == (0.2, 20.0, "kl_per_element", False)
    assert grid("dml").method.order == "sequential"
    assert grid("dlb").method.second_view is True
    shake = grid("shake")
    assert (shake.teacher.name, shake.optim.lr, shake.optim.nesterov) == ("resnet34", 0.05, False)


# ------------------------------------------------------------------ TAKD

def test_takd_kd_term_is_the_element_mean_kl():
    lr = setup_of(*TINY_TAKD, "kd=offline").learner
    B, C = 6, 10
    a, b = torch.randn(B, C), torch.randn(B, C)
    y = torch.randint(0, C, (B,))
    parts = lr.loss(2, 0, Out(a, a), y, {1: Out(b, b)})
    # (1 − λ)·CE + λ·T²·KLDivLoss()(log p_s, p_t), λ = 0.5, T = 5: the release's line
    assert parts["ce"].item() == pytest.approx(0.5 * F.cross_entropy(a, y).item(), rel=1e-6)
    assert parts["kd"].item() == pytest.approx(0.5 * 25 * element_mean_kl(a, b, 5.0), rel=1e-5)
    # 1/C of the batch-mean KL
    batch_mean = F.kl_div(F.log_softmax(a / 5, 1), F.softmax(b / 5, 1), reduction="batchmean").item()
    assert parts["kd"].item() == pytest.approx(0.5 * 25 * batch_mean / C, rel=1e-5)


class Scripted:
    """Stands in for the learner's evaluation: a fixed accuracy per role per call, in order."""

    def __init__(self, learner, accs):
        self.real, self.accs, self.calls = learner.evaluate, {r: list(v) for r, v in accs.items()}, []

    def __call__(self, role, batches):
        acc = self.accs[role].pop(0)
        self.calls.append((role, acc))
        return {role: (acc, 0.0)}


def test_takd_from_best_hands_on_each_networks_best_epoch():
    s = setup_of(*TINY_TAKD, "kd=offline", "method.from_best=test")
    lr = s.learner
    spe = s.steps_per_epoch
    # the teacher is best after its 2nd of 3 epochs, the assistant after its 1st
    lr.evaluate = Scripted(lr, {"teacher": [50.0, 70.0, 60.0], "assistant": [40.0, 30.0, 40.0]})
    kept = {}  # the weights each network has at the end of each of its epochs
    for ev in s.events():
        role = ev.roles[0]
        if role == "assistant" and ev.step == 0:
            teacher_final = weights(lr.nets["teacher"])
        if role == "student" and ev.step == 0:
            assistant_final = weights(lr.nets["assistant"])
        lr.run_event(ev, *s.data.train_batch(ev.step))
        if (ev.step + 1) % spe == 0:
            kept[(role, (ev.step + 1) // spe)] = weights(lr.nets[role])
        if role == "assistant" and ev.step == 0:
            assert same(weights(lr.nets["teacher"]), kept[("teacher", 2)])  # handed on: its best epoch
            assert not same(teacher_final, kept[("teacher", 2)])
        if role == "student" and ev.step == 0:
            assert same(weights(lr.nets["assistant"]), kept[("assistant", 1)])  # a tie keeps the earlier
            assert not same(assistant_final, kept[("assistant", 1)])
    # evaluated once an epoch, the networks that teach only (the student is the engine's to evaluate)
    assert [r for r, _ in lr.evaluate.calls] == ["teacher"] * 3 + ["assistant"] * 3


def test_takd_from_best_is_exact_across_a_checkpoint():
    def run(interrupt):
        s = setup_of(*TINY_TAKD, "kd=offline", "method.from_best=test")
        if interrupt:  # stop mid-assistant, save, build afresh, load, go on
            stop = drive(s, until=lambda ev: ev.roles == ("assistant",) and ev.step == 5)
            buf = io.BytesIO()
            torch.save(s.learner.state_dict(), buf)
            events = list(s.events())
            s = setup_of(*TINY_TAKD, "kd=offline", "method.from_best=test")
            buf.seek(0)
            s.learner.load_state_dict(torch.load(buf, weights_only=True))
            for ev in events[events.index(stop):]:
                s.learner.run_event(ev, *s.data.train_batch(ev.step))
        else:
            drive(s)
        return {r: weights(s.learner.nets[r]) for r in s.learner.roles}

    a, b = run(False), run(True)
    assert all(same(a[r], b[r]) for r in a)


@pytest.mark.parametrize("args, words", [
    ([*TINY_TAKD, "kd=spaced", "method.from_best=test"], "needs kd=offline"),
    ([*TINY_TAKD, "kd=offline", "method.from_best=val"], "dataset.val_fraction"),
    (["method=ban", "kd=offline", "method.from_best=test"], "TAKD's key"),
    (["kd=offline", "method.from_best=test"], "TAKD's key"),  # method=none
    ([*TINY_TAKD, "kd=offline", "method.from_best=best"], "method.from_best"),
])
def test_from_best_refuses_what_it_cannot_mean(args, words):
    with pytest.raises(UserError, match=words):
        cfg_of(*args)


def test_from_best_on_a_validation_split_is_accepted():
    c = cfg_of(*TINY_TAKD, "kd=offline", "method.from_best=val", "dataset.val_fraction=0.2")
    assert c.method.from_best == "val"


# ------------------------------------------------------------------ DLB

def test_dlb_second_view_differs_and_is_a_pure_function_of_seed_and_step():
    s = setup_of("method=dlb", "kd=online")
    data = s.data
    rng = torch.random.get_rng_state()
    view = second_view(data, 3)
    assert torch.equal(torch.random.get_rng_state(), rng)  # its own generator: the run's draws stay put
    first, y = data.train_batch(3)
    assert view.shape == first.shape and view.dtype == first.dtype and not torch.equal(view, first)
    # reproducible from (seed, step): a fresh build draws the same; another step or seed does not
    again = setup_of("method=dlb", "kd=online").data
    assert torch.equal(second_view(again, 3), view)
    assert not torch.equal(second_view(data, 4)[: len(view)], view)
    assert not torch.equal(second_view(setup_of("method=dlb", "kd=online", "seed=1").data, 3), view)
    # the same samples: without augmentation the two views are one
    plain = setup_of("method=dlb", "kd=online", "dataset.crop_padding=0", "dataset.flip=false").data
    assert torch.equal(second_view(plain, 3), plain.train_batch(3)[0])


def test_dlb_second_view_refuses_a_per_sample_pipeline_in_one_line():
    class Folders(Data):
        name = "tiny-folders"

    with pytest.raises(UserError, match="method.second_view=false"):
        require_second_view(Folders())


# ------------------------------------------------------------------ BAN

def test_ban_student_learns_from_labels_and_teacher_by_the_cited_weights():
    lr = setup_of("method=ban", "kd=offline", "trainer.epochs=1").learner
    B, C = 5, 10
    a, b = torch.randn(B, C) * 3, torch.randn(B, C) * 3
    y = torch.randint(0, C, (B,))
    parts = lr.loss(1, 0, Out(a, a), y, {0: Out(b, b)})
    # 0.8·CE + 0.2·KLDivLoss()(log p_s/20, p_t/20): no T²
    assert parts["ce"].item() == pytest.approx(0.8 * F.cross_entropy(a, y).item(), rel=1e-6)
    assert parts["kd"].item() == pytest.approx(0.2 * element_mean_kl(a, b, 20.0), rel=1e-4)


# ------------------------------------------------------------------ DML

DML = ["method=dml", "trainer.epochs=1", "optim.lr=0.1"]


def traced(setup):
    """The learner's calls in order: ("teach", role, step, updates it has had) and ("update", role, step)."""
    lr, log, updates = setup.learner, [], {"teacher": 0, "student": 0}
    update, teach = lr._update, lr.teach

    def _update(role, t, parts):
        out = update(role, t, parts)
        updates[role] += 1
        log.append(("update", role, t))
        return out

    def _teach(j, t, x):
        log.append(("teach", lr.roles[j], t, updates[lr.roles[j]]))
        return teach(j, t, x)

    lr._update, lr.teach = _update, _teach
    return log


def test_dml_updates_one_peer_after_the_other_on_fresh_outputs():
    s = setup_of(*DML, "kd=online")
    log = traced(s)
    drive(s)
    want = []
    for t in range(s.plan.total_steps):
        # the teacher peer learns from the student peer as it is (t updates), then the student peer
        # from a fresh forward of the teacher peer after its update (t + 1)
        want += [("teach", "student", t, t), ("update", "teacher", t),
                 ("teach", "teacher", t, t + 1), ("update", "student", t)]
    assert log == want


def test_dml_joint_order_takes_one_shared_forward():
    s = setup_of(*DML, "kd=online", "method.order=joint")
    log = traced(s)
    drive(s)
    assert log == [e for t in range(s.plan.total_steps) for e in (("update", "teacher", t), ("update", "student", t))]


def test_dml_sequential_is_spaced_by_one_step_bit_for_bit():
    runs = {}
    for name, args in {"sequential": ["kd=online"], "spaced": ["kd=spaced", "interval_unit=steps", "interval=1"],
                       "joint": ["kd=online", "method.order=joint"]}.items():
        s = setup_of(*DML, *args)
        log = traced(s)
        drive(s)
        runs[name] = (log, {r: weights(s.learner.nets[r]) for r in s.learner.roles})
    assert runs["sequential"][0] == runs["spaced"][0]
    assert all(same(runs["sequential"][1][r], runs["spaced"][1][r]) for r in ("teacher", "student"))
    assert not same(runs["sequential"][1]["student"], runs["joint"][1]["student"])


# ------------------------------------------------------------------ Tab. 4's reporting rule

def test_table4_reports_each_method_by_its_release_rule(tmp_path):
    from analysis_fakes import make_run
    from analysis.collect import collect
    from analysis.tables import build_table

    def runs(method, own, kd, last, best, interval=None):
        cfg = {"model.name": "resnet18", "dataset.name": "cifar100", "kd.name": kd, "method.name": method,
               "method.kd": own}
        if interval is not None:
            cfg["interval"] = interval
        for seed, (a, b) in enumerate(zip(last, best)):
            make_run(tmp_path, f"{method}-{kd}/seed={seed}", cfg=cfg, student_acc=a,
                     metrics={"student_best_acc": b}, seed=seed)

    for method, own in (("takd", "offline"), ("dml", "online")):
        runs(method, own, "none", [60.0, 62.0], [61.0, 63.0])
        runs(method, own, own, [64.0, 66.0], [70.0, 72.0])
        runs(method, own, "spaced", [65.0, 69.0], [71.0, 75.0], interval=1.5)

    def value(result, method, column):
        cells = result.cells
        row = cells[(cells["method"] == method) & (cells["column"] == column)]
        assert len(row) == 1, (method, column, cells)
        return row.iloc[0]["mean"]

    df = collect(tmp_path)
    table = build_table(df, 4)
    assert value(table, "TAKD", "KD") == pytest.approx(71.0) and value(table, "TAKD", "w/o KD") == pytest.approx(62.0)
    assert value(table, "TAKD", "Δ") == pytest.approx(2.0)  # best: 73 − 71
    assert value(table, "DML", "KD") == pytest.approx(65.0) and value(table, "DML", "Δ") == pytest.approx(2.0)
    text = table.render("md")
    assert "best epoch (student_best_acc) for TAKD" in text and "(the table's rule" in text
    # the other rule stays one flag away, for every row alike
    last = build_table(df, 4, metric="student_acc")
    assert value(last, "TAKD", "KD") == pytest.approx(65.0) and value(last, "DML", "KD") == pytest.approx(65.0)
    best = build_table(df, 4, metric="student_best_acc")
    assert value(best, "DML", "KD") == pytest.approx(71.0)
