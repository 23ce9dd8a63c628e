"""analysis.plots: every figure renders to PNG + PDF, with data and without; replay points."""
import math

from analysis_fakes import make_run, paper_sweep, peer
from analysis.collect import collect
from analysis.plots import fig_imagenet_curves, fig_training_curves, main, plot_all, replay_epochs

FIGURES = ["fig2b_interval_curves", "fig2c_interval_fit", "fig3_critical_period", "fig6_lr_batch", "fig4_flatness"]


def assert_rendered(paths):
    png, pdf = paths
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    assert pdf.read_bytes()[:4] == b"%PDF" and pdf.stat().st_size > 5_000


def test_every_figure_renders_from_a_fake_sweep(tmp_path):
    paper_sweep(tmp_path / "runs", seeds=(0, 1), epochs=4)
    out = plot_all(collect(tmp_path / "runs"), tmp_path / "figs", curves=2, n_boot=20)
    for name in FIGURES:
        assert_rendered(out[name])
    curves = [k for k in out if k.startswith("curves_")]
    assert len(curves) == 2
    for name in curves:
        assert_rendered(out[name])


def test_figures_render_without_data(tmp_path):
    make_run(tmp_path / "runs", "only", cfg=peer("none"), student_acc=68.0)  # nothing to plot but a baseline
    out = plot_all(collect(tmp_path / "runs"), tmp_path / "figs", curves=1, n_boot=5)
    for name in FIGURES + ["fig5_imagenet_curves"]:  # (the fake sweep has no ImageNet runs: Fig. 5 says so)
        assert all(p.exists() for p in out[name])


def test_replay_points_follow_the_interval_and_the_window():
    row = {"kd": "spaced", "epochs": 4, "interval_steps": 6, "steps_per_epoch": 4, "interval_raw": 1.5,
           "start_epoch": 0.0, "end_epoch": math.inf}
    assert replay_epochs(row) == [1.5, 3.0, 4.0]  # the block cut short by the end is still replayed
    assert replay_epochs({**row, "start_epoch": 1.0, "end_epoch": 2.0}) == [2.0]
    assert replay_epochs({**row, "interval_steps": None, "steps_per_epoch": None, "interval_raw": 2.0}) == [2.0, 4.0]
    assert replay_epochs({**row, "kd": "online"}) == []


def test_training_curves_for_self_kd_heads(tmp_path):
    run = make_run(tmp_path, "self", cfg=peer("spaced", 2.0, **{"kd_mode.name": "self"}), epochs=4,
                   metrics={"head1_acc": 50.0, "head2_acc": 55.0, "head3_acc": 60.0, "head4_acc": 65.0,
                            "ensemble_acc": 66.0, "student_acc": 65.0})
    fig = fig_training_curves(run)
    labels = fig.axes[0].get_legend_handles_labels()[1]
    assert {"head1", "head4", "ensemble"} <= set(labels)
    assert any("replays" in label for label in labels)


def test_cli_writes_png_and_pdf(tmp_path, capsys):
    for kd, s in [("online", None), ("spaced", 1.0), ("spaced", 2.0)]:
        make_run(tmp_path / "runs", f"{kd}{s}", cfg=peer(kd, s), student_acc=70.0 + (s or 0), teacher_acc=69.0)
    assert main([str(tmp_path / "runs"), "--out", str(tmp_path / "figs"), "--curves", "1"]) == 0
    assert len(list((tmp_path / "figs").glob("*.png"))) == len(list((tmp_path / "figs").glob("*.pdf"))) == 7  # 6 figures + 1 curve
    assert "fig2c_interval_fit" in capsys.readouterr().out


def test_fig5_draws_online_and_spaced_imagenet_curves(tmp_path):
    for seed in (0, 1):
        for kd, interval, acc in (("online", None, 68.0), ("spaced", 1.5, 70.0)):
            make_run(tmp_path / "runs", f"{kd}-{seed}", cfg=peer(kd, interval, **{"dataset.name": "imagenet1k"}),
                     student_acc=acc + seed, seed=seed, epochs=5)
    make_run(tmp_path / "runs", "cifar", cfg=peer("spaced", 1.5), student_acc=50.0)  # another data set: left out
    ax = fig_imagenet_curves(collect(tmp_path / "runs")).axes[0]
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert set(lines) == {"online KD (n=2)", "spaced KD (ours) (n=2)"}
    assert list(lines["spaced KD (ours) (n=2)"].get_xdata()) == [1, 2, 3, 4, 5]
    assert lines["spaced KD (ours) (n=2)"].get_ydata()[-1] == 70.5  # mean of the seeds' last epoch
