"""analysis.fits: the Fig. 2c quadratic, its vertex, R² and bootstrap CI, against hand computation."""
import math

import numpy as np
import pytest

from analysis_fakes import RELEASE, make_run, peer
from analysis.collect import collect
from analysis.fits import describe, fit_intervals, fit_one, interval_points, main, quadratic


def test_quadratic_recovers_an_exact_parabola():
    x = np.array([0.0, 0.5, 1.0, 2.0])
    fit = quadratic(x, -2 * x**2 + 4 * x + 70)
    assert (fit.a, fit.b, fit.c) == (pytest.approx(-2), pytest.approx(4), pytest.approx(70))
    assert fit.vertex == pytest.approx(1.0) and fit.vertex_y == pytest.approx(72.0) and fit.r2 == pytest.approx(1.0)
    with pytest.raises(ValueError):
        quadratic([1.0, 1.0, 2.0], [1.0, 2.0, 3.0])


@pytest.fixture
def hand_root(tmp_path):
    """Online at s=0 and spaced at s=1, 2; seed 0 sits 0.5 below, seed 1 0.5 above the means
    70, 72, 72. By hand: the parabola through the means is −s² + 3s + 70, vertex 1.5 (72.25);
    SS_res = 6·0.25 = 1.5, SS_tot = 16/3 + 3/2 = 41/6, so R² = 1 − 9/41 = 32/41."""
    for seed, shift in [(0, -0.5), (1, 0.5)]:
        make_run(tmp_path, f"on{seed}", cfg=peer("online"), student_acc=70 + shift, seed=seed)
        make_run(tmp_path, f"s1_{seed}", cfg=peer("spaced", 1.0), student_acc=72 + shift, seed=seed)
        make_run(tmp_path, f"s2_{seed}", cfg=peer("spaced", 2.0), student_acc=72 + shift, seed=seed)
        make_run(tmp_path, f"off{seed}", cfg=peer("offline"), student_acc=10.0, seed=seed)  # never fitted
        make_run(tmp_path, f"lr{seed}", cfg=peer("spaced", 1.0, **{"optim.lr": 0.1}), student_acc=0.0, seed=seed)
    make_run(tmp_path, "failed", cfg=peer("spaced", 1.5), status="failed", seed=0)
    return tmp_path


@pytest.mark.parametrize("y, c, vertex_y", [("acc", 70.0, 72.25), ("gain", 0.0, 2.25)])
def test_fit_matches_hand_computation(hand_root, y, c, vertex_y):
    res = fit_one(collect(hand_root), y=y, n_boot=200)
    assert (res["a"], res["b"], res["c"]) == (pytest.approx(-1.0), pytest.approx(3.0), pytest.approx(c, abs=1e-9))
    assert res["vertex"] == pytest.approx(1.5) and res["vertex_y"] == pytest.approx(vertex_y)
    assert res["r2"] == pytest.approx(32 / 41)
    assert (res["n_points"], res["n_seeds"], res["intervals"]) == (6, 2, "0,1,2")
    # every seed shifts every point equally, so each bootstrap replicate has the same vertex
    assert res["ci_lo"] == pytest.approx(1.5) and res["ci_hi"] == pytest.approx(1.5) and res["n_boot"] == 200
    assert res["concave"] and res["vertex_in_range"] and res["note"] == ""


def test_points_leave_out_offline_failed_and_other_settings(hand_root):
    points = interval_points(collect(hand_root), y="acc")
    assert sorted(points["x"]) == [0, 0, 1, 1, 2, 2]
    assert sorted(points["y"]) == [69.5, 70.5, 71.5, 71.5, 72.5, 72.5]
    no_online = interval_points(collect(hand_root), y="acc", include_online=False)
    assert sorted(no_online["x"].unique()) == [1, 2]


def test_per_network_and_pooled_fits_with_a_bootstrap_ci(tmp_path):
    rng = np.random.default_rng(1)
    for model, peak in [("resnet18", 1.2), ("resnet50", 1.8)]:
        for seed in range(4):
            for kd, s in [("online", None), ("spaced", 0.5), ("spaced", 1.0), ("spaced", 1.5), ("spaced", 2.0)]:
                x = s or 0.0
                acc = 70 - (x - peak) ** 2 + rng.normal(0, 0.3)
                make_run(tmp_path, f"{model}/{kd}{s}/{seed}", cfg=peer(kd, s, **{"model.name": model}),
                         student_acc=acc, seed=seed)
    fits = fit_intervals(collect(tmp_path), n_boot=300)
    assert list(fits["network"]) == ["ResNet-18", "ResNet-50", "pooled"]
    r18, r50, pooled = (fits.iloc[i] for i in range(3))
    assert r18["vertex"] == pytest.approx(1.2, abs=0.25) and r50["vertex"] == pytest.approx(1.8, abs=0.25)
    assert r18["vertex"] < pooled["vertex"] < r50["vertex"]
    for row in (r18, r50, pooled):
        assert row["ci_lo"] < row["vertex"] < row["ci_hi"] and 0.3 < row["r2"] <= 1  # pooled: two shapes
    again = fit_intervals(collect(tmp_path), n_boot=300)
    assert again["ci_lo"].tolist() == fits["ci_lo"].tolist()  # seeded: reproducible
    assert "best s* = " in describe(pooled) and "95% CI" in describe(pooled)


def test_too_few_intervals_and_convex_curves_are_reported(tmp_path):
    make_run(tmp_path, "on", cfg=peer("online"), student_acc=70.0)
    make_run(tmp_path, "s1", cfg=peer("spaced", 1.0), student_acc=71.0)
    res = fit_one(collect(tmp_path), n_boot=10)
    assert math.isnan(res["vertex"]) and "at least 3 distinct" in res["note"]
    make_run(tmp_path, "s2", cfg=peer("spaced", 2.0), student_acc=75.0)  # 70, 71, 75: convex
    res = fit_one(collect(tmp_path), n_boot=10)
    assert not res["concave"] and "not concave" in res["note"]


def test_cli(hand_root, capsys, tmp_path):
    assert main([str(hand_root), "--boot", "50", "--csv", str(tmp_path / "fits.csv")]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "Recipe fitted: default; metric: student_best_acc"
    assert "[recipe=default] CIFAR-100 / ResNet-18: gain = -1.000·s² +3.000·s" in out and "best s* = 1.50" in out
    assert (tmp_path / "fits.csv").read_text().startswith("recipe,dataset,network,")


def test_pooling_settings_never_pools_recipes(hand_root):
    for seed in (0, 1):  # the same grid under the release recipe, far off the default one
        for kd, s in [("online", None), ("spaced", 1.0), ("spaced", 2.0)]:
            make_run(hand_root, f"official/{kd}{s}/{seed}", cfg=peer(kd, s, **{"recipe.name": "official"}),
                     student_acc=50.0 + seed, seed=seed)
    df = collect(hand_root)
    pooled = fit_one(df, y="acc", n_boot=0, pool=True)
    assert pooled["n_points"] == 6 + 2  # the lr=0.1 runs join when settings are pooled, official ones never
    assert fit_one(df, y="acc", n_boot=0)["n_points"] == 6


def test_each_recipe_is_fitted_on_its_own_and_named(hand_root, capsys):
    """The release recipe's runs beside the paper equations' (hand_root): two fits per network and two
    pooled ones, each naming its recipe; the official curve peaks at s = 1 by construction."""
    for seed, shift in [(0, -0.5), (1, 0.5)]:
        for kd, s, acc in [("online", None, 60.0), ("spaced", 1.0, 61.0), ("spaced", 2.0, 60.0)]:
            make_run(hand_root, f"official/{kd}{s}/{seed}", cfg=peer(kd, s), preset=RELEASE,
                     student_acc=acc + shift, seed=seed)
    fits = fit_intervals(collect(hand_root), n_boot=0)
    assert list(zip(fits["recipe"], fits["network"])) == [("default", "ResNet-18"), ("default", "pooled"),
                                                         ("official", "ResNet-18"), ("official", "pooled")]
    by = fits.set_index(["recipe", "network"])
    assert by.loc[("default", "ResNet-18"), "vertex"] == pytest.approx(1.5)
    assert by.loc[("official", "ResNet-18"), "vertex"] == pytest.approx(1.0)
    assert by.loc[("official", "ResNet-18"), "n_points"] == 6  # no default-recipe run in the release fit
    assert describe(by.reset_index().iloc[2]).startswith("[recipe=official] CIFAR-100 / ResNet-18: gain")
    assert main([str(hand_root), "--boot", "0"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("Recipes fitted: default, official (each on its own")


def test_the_fit_reads_the_best_accuracy_over_epochs_by_default(tmp_path):
    """Tab. 6's rule: the best over epochs; the last epoch stays one --metric away."""
    for seed in (0, 1):
        for kd, s, best, last in [("online", None, 70.0, 60.0), ("spaced", 1.0, 72.0, 60.0), ("spaced", 2.0, 72.0, 66.0)]:
            make_run(tmp_path, f"{kd}{s}/{seed}", cfg=peer(kd, s), student_acc=last, seed=seed,
                     metrics={"student_best_acc": best})
    df = collect(tmp_path)
    assert fit_one(df, y="acc", n_boot=0)["vertex"] == pytest.approx(1.5)  # 70, 72, 72
    assert fit_one(df, metric="student_acc", y="acc", n_boot=0)["a"] > 0  # 60, 60, 66: convex
