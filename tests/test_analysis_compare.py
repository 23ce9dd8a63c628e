"""analysis.compare, pairs, paired_stats, lastk, plateau and tables --paired, against hand computations."""
import io
import math

import pandas as pd
import pytest

from analysis_fakes import make_run, paper_sweep, peer
from analysis import compare as compare_cli
from analysis import plateau as plateau_cli
from analysis.collect import collect, read_metrics
from analysis.compare import CSV_COLUMNS, compare
from analysis.lastk import add_lastk, epoch_curve, lastk
from analysis.paired_stats import bootstrap_interval, paired, t_interval
from analysis.pairs import SHORT_KEYS, PairingError, compared_keys, parse_arm
from analysis.plateau import plateau
from analysis.tables import TABLES, build_table
from analysis.tables import main as tables_main
from spaced_kd import rundir

# Student's t quantiles in closed form (no table, no scipy): ν = 1 is Cauchy, ν = 2 has an inverse.
T975_1 = math.tan(math.pi * (0.975 - 0.5))  # 12.7062…
T975_2 = (2 * 0.975 - 1) / math.sqrt(2 * 0.975 * (1 - 0.975))  # 4.3027…


# ---------------------------------------------------------------- statistics


def test_t_interval_is_the_closed_form():
    # n = 3, d = 1, 2, 3: mean 2, s = 1 → 2 ± t(0.975, 2)/√3
    low, high = t_interval([1.0, 2.0, 3.0])
    assert (low, high) == (pytest.approx(2 - T975_2 / math.sqrt(3)), pytest.approx(2 + T975_2 / math.sqrt(3)))
    # n = 2, d = 0, 2: mean 1, s = √2 → 1 ± t(0.975, 1)·√2/√2
    assert t_interval([0.0, 2.0]) == (pytest.approx(1 - T975_1), pytest.approx(1 + T975_1))
    assert all(math.isnan(x) for x in t_interval([1.5]))  # n = 1: undefined


def test_bootstrap_interval_by_hand_and_reproducible():
    assert bootstrap_interval([0.7, 0.7, 0.7]) == (pytest.approx(0.7), pytest.approx(0.7))
    # two pairs 0 and 1: resample means are 0 (p = 1/4), 0.5, 1 (p = 1/4) → percentiles 2.5/97.5 are 0 and 1
    assert bootstrap_interval([0.0, 1.0]) == (0.0, 1.0)
    d = [-1.0, 0.5, 2.0, 3.5, 0.0, 1.0]
    low, high = bootstrap_interval(d)
    assert bootstrap_interval(d) == (low, high)  # seeded: the same numbers every time
    assert min(d) < low < sum(d) / len(d) < high < max(d)
    assert all(math.isnan(x) for x in bootstrap_interval([2.0]))


def test_wins_count_strict_improvements_only():
    stats = paired([1.0, 0.0, -2.0, 0.5])
    assert (stats.n, stats.mean_delta, stats.wins) == (4, pytest.approx(-0.125), 2)


# ---------------------------------------------------------------- arms and pairing


def test_arms_parse_like_where_and_by_arm_name():
    assert parse_arm("spaced1.5") == parse_arm("kd=spaced,interval=1.5") == parse_arm("arm=spaced1.5") \
        == {"kd": "spaced", "interval": 1.5}
    assert parse_arm("none") == {"kd": "none"}
    assert parse_arm("kd.name=online,teacher.init=different,loss.t2_scaling=false") == {
        "kd.name": "online", "teacher.init": "different", "loss.t2_scaling": False}
    for bad in ("spaced", "online2", "kd", "=3"):
        with pytest.raises(PairingError):
            parse_arm(bad)


def test_every_short_key_is_a_collected_column(tmp_path):
    make_run(tmp_path, "r", cfg=peer("spaced", 1.5), student_acc=70.0)
    assert set(SHORT_KEYS) <= set(collect(tmp_path).columns)
    for refused in ("seed", "trainer.device", "student_acc"):
        with pytest.raises(PairingError):
            compared_keys([refused])


A_ACC = {0: 70.0, 1: 71.0, 2: 72.0}
B_ACC = {0: 71.0, 1: 73.0, 2: 72.0}  # b − a = 1, 2, 0


@pytest.fixture
def two_recipes(tmp_path):
    """online vs spaced 1.5 in both recipes (official: b − a = 2, 4, 0), a baseline, and trouble:
    a spaced run at another lr (no partner), one with a seed online lacks, and a failed one."""
    for recipe, scale in (("default", 1.0), ("official", 2.0)):
        r = {"recipe.name": recipe}
        for seed in A_ACC:
            make_run(tmp_path, f"{recipe}/online/{seed}", cfg=peer("online", **r), student_acc=A_ACC[seed], seed=seed)
            make_run(tmp_path, f"{recipe}/s1.5/{seed}", cfg=peer("spaced", 1.5, **r),
                     student_acc=A_ACC[seed] + scale * (B_ACC[seed] - A_ACC[seed]), seed=seed)
            make_run(tmp_path, f"{recipe}/none/{seed}", cfg=peer("none", **r), student_acc=60.0 + seed, seed=seed)
    make_run(tmp_path, "default/s1.5-lr/0", cfg=peer("spaced", 1.5, **{"optim.lr": 0.05}), student_acc=50.0, seed=0)
    make_run(tmp_path, "default/s1.5/7", cfg=peer("spaced", 1.5), student_acc=50.0, seed=7)
    make_run(tmp_path, "default/s1.5/fail", cfg=peer("spaced", 1.5), status="failed", seed=8)
    return tmp_path


def test_pairs_by_seed_and_settings_one_group_per_recipe(two_recipes):
    df = collect(two_recipes)
    table, pairing = compare(df, parse_arm("online"), parse_arm("spaced1.5"))
    assert list(table.columns) == CSV_COLUMNS
    assert list(table["group"]) == ["recipe.name=default", "recipe.name=official"]
    default, official = table.iloc[0], table.iloc[1]
    assert (default["n"], default["mean_delta"], default["wins"]) == (3, pytest.approx(1.0), 2)
    assert (default["ci_low"], default["ci_high"]) == (pytest.approx(1 - T975_2 / math.sqrt(3)),
                                                       pytest.approx(1 + T975_2 / math.sqrt(3)))
    assert (official["n"], official["mean_delta"]) == (3, pytest.approx(2.0))
    # every pair is one seed of one recipe, a and b from the same folder of that recipe
    for p in pairing.pairs.itertuples():
        assert p.a_run.split("/")[-3] == p.b_run.split("/")[-3] and p.a_run.endswith(f"/{int(p.seed)}")
    # the runs without a partner, each with its reason
    reasons = {r.run_dir.split(str(two_recipes))[1]: r.reason for r in pairing.unpaired.itertuples()}
    assert reasons == {"/default/s1.5-lr/0": "the a runs of this seed differ in optim.lr",
                       "/default/s1.5/7": "no a run with this seed", "/default/s1.5/fail": "failed"}


def test_a_baseline_pairs_with_kd_runs_whatever_their_loss(tmp_path):
    """kd=none has no KD loss: it pairs with every alpha's run of its seed, one group per alpha."""
    for seed in (0, 1):
        make_run(tmp_path, f"none/{seed}", cfg=peer("none"), student_acc=60.0 + seed, seed=seed)
        for alpha in (0.3, 0.5):
            make_run(tmp_path, f"online-{alpha}/{seed}", cfg=peer("online", **{"loss.alpha": alpha}),
                     student_acc=60.0 + seed + 10 * alpha, seed=seed)
    table, pairing = compare(collect(tmp_path), parse_arm("none"), parse_arm("online"))
    assert list(table["group"]) == ["loss.alpha=0.3", "loss.alpha=0.5"]
    assert list(table["mean_delta"]) == [pytest.approx(3.0), pytest.approx(5.0)]
    assert pairing.unpaired.empty


def test_single_key_ablations_pair(tmp_path):
    """teacher.target_mode (a teacher setting a rerun must not swallow) and teacher.init, one override each."""
    for seed in (0, 1, 2):
        for mode, shift in (("train", 0.0), ("eval", 0.5)):
            make_run(tmp_path, f"{mode}/{seed}", cfg=peer("online", **{"teacher.target_mode": mode}),
                     student_acc=70.0 + seed + shift, seed=seed)
    table, pairing = compare(collect(tmp_path), parse_arm("teacher.target_mode=train"),
                             parse_arm("teacher.target_mode=eval"))
    assert (table["n"].tolist(), table["mean_delta"].tolist()) == ([3], [pytest.approx(0.5)])
    assert pairing.unpaired.empty


def test_ambiguous_pairs_are_refused(tmp_path):
    """Arms that leave a varying setting unnamed (kd_mode) cannot pair one to one."""
    for seed in (0, 1):
        make_run(tmp_path, f"none/{seed}", cfg=peer("none"), student_acc=60.0, seed=seed)
        self_mode = {"kd_mode.name": "self"}
        make_run(tmp_path, f"none-self/{seed}", cfg=peer("none", **self_mode), student_acc=61.0, seed=seed)
        make_run(tmp_path, f"self/{seed}", cfg=peer("online", **self_mode), student_acc=62.0, seed=seed)
    with pytest.raises(PairingError, match="ambiguous"):
        compare(collect(tmp_path), parse_arm("kd=none"), parse_arm("kd=online,kd_mode=self"))
    table, _ = compare(collect(tmp_path), parse_arm("kd=none,kd_mode=peer"), parse_arm("kd=online,kd_mode=self"))
    assert table["mean_delta"].tolist() == [pytest.approx(2.0)]


# ---------------------------------------------------------------- the command line


def lines(text):
    return [ln for ln in text.splitlines() if ln.strip()]


def test_cli_prints_groups_names_unpaired_runs_in_one_line_and_writes_the_csv(two_recipes, tmp_path, capsys):
    out_csv = tmp_path / "deltas.csv"
    code = compare_cli.main([str(two_recipes), "--a", "online", "--b", "spaced1.5", "--csv", str(out_csv)])
    out, err = capsys.readouterr()
    assert code == 0
    row = next(ln for ln in out.splitlines() if ln.strip().startswith("recipe.name=default"))
    assert row.split() == ["recipe.name=default", "3", "+1.00", "[-1.48,", "+3.48]", "[+0.00,", "+2.00]", "2/3"]
    assert len(lines(err)) == 1 and err.startswith("warning: 3 runs unpaired: ")
    assert "s1.5-lr/0 (seed 0: the a runs of this seed differ in optim.lr)" in err and "(seed 8: failed)" in err
    written = pd.read_csv(out_csv)
    assert list(written.columns) == ["group", "n", "mean_delta", "ci_low", "ci_high", "boot_low", "boot_high", "wins"]
    assert written.loc[0, "mean_delta"] == pytest.approx(1.0) and written.loc[1, "wins"] == 2


def test_cli_one_pair_says_the_interval_is_undefined(tmp_path, capsys):
    make_run(tmp_path, "a", cfg=peer("online"), student_acc=70.0, seed=0)
    make_run(tmp_path, "b", cfg=peer("spaced", 1.5), student_acc=71.0, seed=0)
    assert compare_cli.main([str(tmp_path), "--a", "online", "--b", "spaced1.5"]) == 0
    assert capsys.readouterr().out.count("undefined (n=1)") == 2


@pytest.mark.parametrize("a, b, says, code", [
    ("kdd=online", "spaced1.5", "--a kdd: no such column", 2),
    ("seed=0", "seed=1", "seed: runs are paired by seed", 2),
    ("online", "online", "--a and --b are the same arm", 2),
    ("spaced", "online", "--a spaced: spaced arms are named with their interval", 2),
    ("online", "kd=nothing", "no completed run matches --b kd=nothing", 1),
])
def test_cli_refusals_are_one_line(two_recipes, capsys, a, b, says, code):
    assert compare_cli.main([str(two_recipes), "--a", a, "--b", b]) == code
    err = capsys.readouterr().err
    assert len(lines(err)) == 1 and err.startswith(f"error: {says}"), err


def test_cli_no_pairs_is_one_line_naming_the_runs(tmp_path, capsys):
    make_run(tmp_path, "a", cfg=peer("online"), student_acc=70.0, seed=0)
    make_run(tmp_path, "b", cfg=peer("spaced", 1.5, **{"optim.lr": 0.05}), student_acc=71.0, seed=0)
    assert compare_cli.main([str(tmp_path), "--a", "online", "--b", "spaced1.5"]) == 1
    err = capsys.readouterr().err
    assert len(lines(err)) == 1 and err.startswith("error: no pairs: no run of --b kd=spaced,interval=1.5 has")
    assert "2 runs unpaired" in err and "differ in optim.lr" in err


# ---------------------------------------------------------------- the last-k metric


def write_curve(run_dir, accs, role="student"):
    rows = [{"epoch": e, "step": 10 * e, "role": role, "split": "test", "acc": a, "loss": 1.0, "wall_s": e}
            for e, a in enumerate(accs, start=1)]
    rundir.write_metrics(run_dir, rows)


def test_lastk_is_the_mean_of_the_last_k_epochs(tmp_path):
    run = make_run(tmp_path, "r", cfg=peer("none"), student_acc=76.5, epochs=6)
    write_curve(run, [50.0, 60.0, 70.0, 72.0, 66.0, 76.5])
    # an epoch evaluated twice (a final evaluation after a cut-short block): the later one counts
    rundir.append_metric(run, {"epoch": 6, "step": 65, "role": "student", "split": "test", "acc": 78.0,
                               "loss": 1.0, "wall_s": 7.0})
    curve = epoch_curve(read_metrics(run), "student")
    assert curve.tolist() == [50.0, 60.0, 70.0, 72.0, 66.0, 78.0]
    assert lastk(curve, 3) == pytest.approx((72 + 66 + 78) / 3)
    assert math.isnan(lastk(curve, 7))  # fewer epochs than k: no value, not a shorter mean
    df = add_lastk(collect(tmp_path), 3)
    assert df.loc[0, "student_lastk_acc"] == pytest.approx(72.0)


def test_lastk_is_a_metric_of_compare_and_tables(two_recipes, capsys):
    # the fakes' curves rise linearly to the final accuracy over 4 epochs: last 2 = 7/8 of it
    code = compare_cli.main([str(two_recipes), "--a", "online", "--b", "spaced1.5", "--where", "recipe=default",
                             "--metric", "student_lastk_acc", "--last-k", "2"])
    out = capsys.readouterr().out
    assert code == 0 and "mean test accuracy of the last 2 epochs" in out
    assert next(ln for ln in out.splitlines() if ln.strip().startswith("all")).split()[2] == f"{7 / 8:+.2f}"
    assert tables_main([str(two_recipes), "-t", "6", "--metric", "student_lastk_acc", "--last-k", "2",
                        "--where", "recipe=default"]) == 0
    out = capsys.readouterr().out
    assert f"{(70 + 71 + 72) / 3 * 7 / 8:.2f} ± " in out  # w/o: the online runs' mean of the last two epochs


# ---------------------------------------------------------------- the plateau criterion


def test_plateau_compares_the_last_fifth_with_the_fifth_before():
    rising = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100]  # E = 10, w = 2: 95 vs 75
    p = plateau(rising)
    assert (p.epochs, p.window, p.before, p.last, p.change, p.plateaued) == (10, 2, 75.0, 95.0, 20.0, False)
    flat = [50, 60, 70, 71, 70.2, 70.9, 70.1, 70.8, 70.4, 70.6]  # (70.1+70.8)/2 vs (70.4+70.6)/2
    assert plateau(flat).change == pytest.approx(0.05) and plateau(flat).plateaued
    assert plateau(rising[:7]).window == 1  # ⌊7/5⌋ = 1
    with pytest.raises(ValueError):
        plateau([70.0])


def test_plateau_cli_reports_each_group_on_the_seed_mean_curve(tmp_path, capsys):
    for seed, wobble in ((0, 0.4), (1, -0.4)):
        for kd, rise in (("none", 0.0), ("online", 1.0)):
            run = make_run(tmp_path, f"{kd}/{seed}", cfg=peer(kd), student_acc=1.0, seed=seed, epochs=10)
            write_curve(run, [60.0] * 6 + [70.0, 70.0] + [70.0 + rise + wobble] * 2)
    code = plateau_cli.main([str(tmp_path), "--strict"])
    out, err = capsys.readouterr()
    rows = {ln.split()[0]: ln.split() for ln in out.splitlines() if ln.strip().startswith("kd.name")}
    # E = 10, w = 2: epochs 7–8 against 9–10; per seed ±0.4, on the seed-mean curve 0
    assert rows["kd.name=none"][-4:] == ["0.00", "yes", "-0.40", "0.40"]
    assert rows["kd.name=online"][-4:] == ["1.00", "no", "0.60", "1.40"]
    assert code == 1 and "1 group(s) have not plateaued" in err
    assert plateau_cli.main([str(tmp_path), "--where", "kd=none", "--strict"]) == 0


# ---------------------------------------------------------------- tables --paired


def test_table6_paired_deltas_by_hand(two_recipes):
    result = build_table(collect(two_recipes), 6, where={"recipe": "default"}, paired=True)
    cells = result.cells.set_index("column")
    labels = [c.label for c in result.spec.cols]
    assert labels[-7:] == ["w/o − Baseline", "w/0.5 − w/o", "w/1.0 − w/o", "w/1.5 − w/o", "w/2.0 − w/o",
                           "w/max − w/o", "w/1.5 − Baseline"]
    spaced = cells.loc["w/1.5 − w/o"]  # 1, 2, 0 as in compare
    assert (spaced["mean"], spaced["n"], spaced["wins"]) == (pytest.approx(1.0), 3, 2)
    assert (spaced["ci_low"], spaced["ci_high"]) == (pytest.approx(1 - T975_2 / math.sqrt(3)),
                                                     pytest.approx(1 + T975_2 / math.sqrt(3)))
    online = cells.loc["w/o − Baseline"]  # 70 − 60, 71 − 61, 72 − 62
    assert (online["mean"], online["ci_low"], online["ci_high"]) == (10.0, pytest.approx(10.0), pytest.approx(10.0))
    assert cells.loc["w/1.5 − Baseline", "mean"] == pytest.approx(11.0)
    assert cells.loc["w/2.0 − w/o", "n"] == 0
    row = next(ln for ln in result.to_markdown().splitlines() if "ResNet-18" in ln)
    assert "+1.00 [-1.48, +3.48] (n=3; wins 2/3)" in row and "+10.00 [+10.00, +10.00] (n=3; wins 3/3)" in row
    assert any("w/1.5 − w/o: 1 run unpaired" in w and "seed 7" in w for w in result.warnings)
    csv = pd.read_csv(io.StringIO(result.to_csv()))
    assert {"ci_low", "ci_high", "boot_low", "boot_high", "wins"} <= set(csv.columns)


def test_table1_and_2_paired_columns(two_recipes):
    t1 = build_table(collect(two_recipes), 1, where={"recipe": "default"}, paired=True)
    assert [c.label for c in t1.spec.cols][-3:] == ["Δ", "w/o Ours − w/o KD", "w/ Ours − w/o KD"]
    assert t1.cells.set_index("column").loc["Δ", "ci_high"] == pytest.approx(1 + T975_2 / math.sqrt(3))
    unpaired = build_table(collect(two_recipes), 1, where={"recipe": "default"})
    assert "ci_low" not in unpaired.cells.columns  # without --paired the table is as before


def test_paired_tables_build_on_a_full_fake_sweep(tmp_path, capsys):
    paper_sweep(tmp_path, seeds=(0, 1))
    df = collect(tmp_path)
    for number in TABLES:
        result = build_table(df, number, paired=True)
        assert result.to_markdown() and len(pd.read_csv(io.StringIO(result.to_csv()))) == len(result.cells)
    t2 = build_table(df, 2, paired=True, where={"recipe": "official"}).cells.set_index(["network", "column"])
    # self KD's ensemble against the plain network's best (the fake: +6.5 over base, base's offsets ±0.2 → 6.7, 6.5)
    assert t2.loc[("ResNet-18", "w/ Ours − w/o KD"), "mean"] == pytest.approx(6.6)
    assert tables_main([str(tmp_path), "-t", "6", "--paired", "--where", "recipe=default"]) == 0
    assert "w/1.5 − Baseline" in capsys.readouterr().out
