"""analysis.tables: every cell against numbers chosen by hand, missing/failed cells, paper values, CLI."""
import io
import math
import re

import pandas as pd
import pytest

from analysis_fakes import (BASE, DEFAULT_RECIPE_SHIFT, RELEASE, SEED_OFFSET, SELF_SPACED_ENSEMBLE, make_run,
                            paper_sweep, peer)
from analysis.collect import collect
from analysis.tables import TABLES, attach_paper, build_table, build_tables, main, paper_values


def run(*args, **kw):
    """A run of a paper grid: the release's recipe comes with the grid's experiment preset."""
    return make_run(*args, **{"preset": RELEASE, **kw})


def write(root, name, cfg, values, **kw):
    """One run per seed: values[i] is seed i's student accuracy (a grid run unless ``preset`` says)."""
    for seed, value in enumerate(values):
        run(root, f"{name}/seed={seed}", cfg=cfg, student_acc=value, seed=seed, **kw)


def cell(result, column, **keys):
    cells = result.cells
    mask = cells["column"] == column
    for k, v in keys.items():
        mask &= cells[k] == v
    assert mask.sum() == 1, (column, keys, result.cells)
    return cells[mask].iloc[0]


def md_rows(text):
    """Markdown table → list of stripped cell lists (header first, separator dropped)."""
    lines = [ln for ln in text.splitlines() if ln.startswith("|") and not set(ln) <= set("|-")]
    return [[c.strip() for c in ln.strip("|").split(" | ")] for ln in lines]


@pytest.fixture
def table6_root(tmp_path):
    r18 = {"model.name": "resnet18"}
    write(tmp_path, "none", peer("none", **r18), [67.0, 68.0, 69.0])           # 68.00 ± 1.00
    write(tmp_path, "online", peer("online", **r18), [70.0, 71.0, 72.0], teacher_acc=69.0)  # 71.00 ± 1.00
    write(tmp_path, "s0.5", peer("spaced", 0.5, **r18), [71.5, 72.5], teacher_acc=69.0)      # 72.00 ± 0.71 (n=2)
    write(tmp_path, "s1.0", peer("spaced", 1.0, **r18), [72.0, 72.0, 72.0], teacher_acc=69.0)  # 72.00 ± 0.00
    write(tmp_path, "s1.5", peer("spaced", 1.5, **r18), [71.0, 73.0, 72.0], teacher_acc=69.0)  # 72.00 ± 1.00
    # w/2.0: nothing at all → "missing"; w/max: one failed run → "n/a (1 failed)"
    run(tmp_path, "offline/seed=0", cfg=peer("offline", **r18), status="failed", seed=0)
    # ResNet-50: one seed of the baseline only, plus a run killed before summary.json
    run(tmp_path, "r50none/seed=0", cfg=peer("none", **{"model.name": "resnet50"}), student_acc=69.5, seed=0)
    run(tmp_path, "r50on/seed=0", cfg=peer("online", **{"model.name": "resnet50"}), status=None,
             student_acc=50.0, teacher_acc=50.0, seed=0)
    return tmp_path


def test_table6_every_cell(table6_root):
    result = build_table(collect(table6_root), 6)
    expected = {  # column: (mean, std, n) for CIFAR-100 / ResNet-18
        "Baseline": (68.0, 1.0, 3), "w/o": (71.0, 1.0, 3), "w/0.5": (72.0, math.sqrt(0.5), 2),
        "w/1.0": (72.0, 0.0, 3), "w/1.5": (72.0, 1.0, 3),
    }
    for column, (mean, std, n) in expected.items():
        c = cell(result, column, network="ResNet-18", dataset="CIFAR-100")
        assert (c["mean"], c["std"], c["n"]) == (pytest.approx(mean), pytest.approx(std), n), column
    assert cell(result, "w/2.0", network="ResNet-18")["n"] == 0
    assert cell(result, "w/max", network="ResNet-18")["n_failed"] == 1
    r50 = cell(result, "Baseline", network="ResNet-50")
    assert (r50["mean"], math.isnan(r50["std"]), r50["n"]) == (69.5, True, 1)
    assert cell(result, "w/o", network="ResNet-50")["n_unfinished"] == 1

    rows = md_rows(result.to_markdown())
    assert rows[0] == ["Dataset", "Network", "Baseline", "w/o", "w/0.5", "w/1.0", "w/1.5", "w/2.0", "w/max"]
    assert rows[1] == ["CIFAR-100", "ResNet-18", "68.00 ± 1.00 (n=3)", "71.00 ± 1.00 (n=3)", "72.00 ± 0.71 (n=2)",
                       "72.00 ± 0.00 (n=3)", "72.00 ± 1.00 (n=3)", "missing", "n/a (1 failed)"]
    assert rows[2] == ["", "ResNet-50", "69.50 (n=1)", "n/a (1 unfinished)", "missing", "missing", "missing",
                       "missing", "missing"]


def test_table1_delta_is_paired_over_seeds(table6_root):
    result = build_table(collect(table6_root), 1)
    delta = cell(result, "Δ", network="ResNet-18")
    # w/ Ours − w/o Ours: means 72 − 71; per-seed differences 1, 2, 0 → std 1
    assert (delta["mean"], delta["std"], delta["n"]) == (pytest.approx(1.0), pytest.approx(1.0), 3)
    assert md_rows(result.to_markdown())[1][-1] == "+1.00 ± 1.00 (n=3)"
    assert cell(result, "Δ", network="ResNet-50")["n"] == 0  # no online runs completed: no Δ


def test_paper_values_side_by_side(table6_root):
    result = build_table(collect(table6_root), 1, paper=True)
    c = cell(result, "w/ Ours", network="ResNet-18", dataset="CIFAR-100")
    assert c["paper"] == 72.43 and c["diff"] == pytest.approx(72.0 - 72.43)
    # rows the paper has and we don't are shown as missing, not dropped
    tiny = cell(result, "w/o KD", network="PiT-Tiny", dataset="Tiny-ImageNet")
    assert tiny["n"] == 0 and tiny["paper"] == 57.89
    rows = md_rows(result.to_markdown())
    assert rows[0][:5] == ["Dataset", "Network", "w/o KD", "w/o KD · paper", "w/o KD · ours−paper"]
    assert rows[1][:5] == ["CIFAR-100", "ResNet-18", "68.00 ± 1.00 (n=3)", "68.12", "-0.12"]
    assert len(rows) == 1 + 14  # the paper's 14 rows (ResNet-18 / CIFAR-100 among them)


def test_paper_values_csv_matches_the_paper():
    paper = paper_values()
    assert set(paper["table"]) == {1, 2, 6, 8, 9, 10, 11, 12}
    t6 = paper[paper["table"] == 6].pivot_table(index=["dataset", "network"], columns="column", values="value")
    assert t6.shape == (10, 7)
    assert t6.loc[("Tiny-ImageNet", "ResNet-101"), "w/1.5"] == 63.76
    assert t6.loc[("CIFAR-100", "ResNet-101"), "w/max"] == 74.01
    for number, a, b in [(1, "w/o Ours", "w/ Ours"), (2, "w/o Ours", "w/ Ours"), (11, "w/o Ours", "w/ Ours"),
                         (12, "w/o", "w/1.5")]:
        t = paper[paper["table"] == number]
        keys = [k for k in ("dataset", "network", "attack", "intensity") if t[k].astype(str).str.len().gt(0).any()]
        wide = t.pivot_table(index=keys, columns="column", values="value")
        assert ((wide[b] - wide[a] - wide["Δ"]).abs() < 0.006).all(), number  # Δ typed consistently


def test_rows_are_held_at_default_settings_and_the_rest_is_reported(tmp_path):
    write(tmp_path, "online", peer("online"), [70.0, 72.0])
    write(tmp_path, "spaced", peer("spaced", 1.5), [73.0, 73.0])
    write(tmp_path, "lr", peer("spaced", 1.5, **{"optim.lr": 0.05}), [60.0, 60.0])  # an lr sweep in the same root
    df = collect(tmp_path)
    result = build_table(df, 1)
    assert cell(result, "w/ Ours", network="ResNet-18")["mean"] == 73.0
    assert any("left out 2 runs with lr ∈ {0.05}" in w for w in result.warnings)
    pooled = build_table(df, 1, pool=True)
    assert cell(pooled, "w/ Ours", network="ResNet-18")["mean"] == pytest.approx(66.5)
    assert any("pools runs with lr" in w for w in pooled.warnings)
    chosen = build_table(df, 1, where={"lr": [0.05]})
    assert cell(chosen, "w/ Ours", network="ResNet-18")["mean"] == 60.0


def test_teacher_tables_8_and_9(tmp_path):
    for teacher, width, t_acc, on, sp, off in [("resnet18", 2.0, 69.4, 71.8, 72.8, 72.5),
                                               ("resnet50", None, 69.2, 72.2, 73.5, None)]:
        t = {"teacher.name": teacher, "teacher.width": width}
        write(tmp_path, f"{teacher}on", peer("online", **t), [on - 0.1, on + 0.1], teacher_acc=t_acc)
        write(tmp_path, f"{teacher}sp", peer("spaced", 1.5, **t), [sp - 0.1, sp + 0.1], teacher_acc=t_acc)
        if off:
            write(tmp_path, f"{teacher}off", peer("offline", **t), [off, off], teacher_acc=t_acc)
    write(tmp_path, "same", peer("online"), [70.0], teacher_acc=68.0)  # Tab. 1's cell, not Tab. 8's
    df = collect(tmp_path)
    t8 = build_table(df, 8)
    wide = cell(t8, "Baseline", teacher="ResNet-18×2")
    assert (wide["group"], wide["mean"], wide["std"]) == ("Width", 69.4, 0.0)
    assert cell(t8, "Online KD", teacher="ResNet-50")["mean"] == pytest.approx(72.2)
    assert cell(t8, "Spaced KD", teacher="ResNet-50")["group"] == "Depth"
    assert set(t8.cells["teacher"]) == {"ResNet-18×2", "ResNet-50"}
    rows = md_rows(t8.to_markdown())
    assert rows[0] == ["Dataset", "Network", "", "Teacher", "Baseline", "Online KD", "Spaced KD"]
    assert rows[1][:4] == ["CIFAR-100", "ResNet-18", "Width", "ResNet-18×2"]
    t9 = build_table(df, 9, paper=True)
    assert cell(t9, "Offline KD", teacher="ResNet-18×2")["mean"] == 72.5
    assert cell(t9, "Offline KD", teacher="ResNet-18×2")["group"] == "Size"  # the paper's word for width
    assert cell(t9, "Spaced KD", teacher="ResNet-18×2")["paper"] == 72.77
    assert cell(t9, "Spaced KD", teacher="DeiT-Tiny")["n"] == 0  # paper row, no runs: missing
    # Tab. 9 has the paper's five teachers only: the ResNet-50 teacher is Tab. 8's
    assert set(t9.cells["teacher"]) == {"ResNet-18×2", "ResNet-18×4", "ResNet-18×8", "DeiT-Tiny", "PiT-Tiny"}


def test_table9_is_a_resnet18_student_with_the_papers_teachers(tmp_path):
    for teacher, width in [("resnet18", 4.0), ("pit_tiny", None), ("resnet50", None)]:
        t = {"teacher.name": teacher, "teacher.width": width}
        write(tmp_path, f"{teacher}{width}off", peer("offline", **t), [72.0, 72.4])
        write(tmp_path, f"{teacher}{width}sp", peer("spaced", 1.5, **t), [73.0, 73.2])
    # a DeiT-Tiny student with a PiT-Tiny teacher (what the old sweep ran) is not a Tab. 9 row
    write(tmp_path, "vit", peer("offline", **{"model.name": "deit_tiny", "teacher.name": "pit_tiny"}), [60.0])
    t9 = build_table(collect(tmp_path), 9)
    assert [c.label for c in t9.spec.cols] == ["Offline KD", "Spaced KD"]
    assert set(t9.cells["network"]) == {"ResNet-18"}
    assert set(t9.cells["teacher"]) == {"ResNet-18×4", "PiT-Tiny"}
    assert cell(t9, "Offline KD", teacher="ResNet-18×4")["mean"] == pytest.approx(72.2)
    assert cell(t9, "Spaced KD", teacher="PiT-Tiny")["group"] == "Architecture"
    rows = md_rows(t9.to_markdown())
    assert rows[1][:4] == ["CIFAR-100", "ResNet-18", "Size", "ResNet-18×4"]


def test_table2_compares_best_ensemble_accuracy_and_says_so(tmp_path):
    # the last-epoch deepest head (student_acc) and the best ensemble over epochs disagree on purpose
    write(tmp_path, "none", peer("none"), [68.0, 68.0], metrics={"student_best_acc": 69.0})
    for seed, (on, sp) in enumerate([(74.0, 77.0), (75.0, 77.0)]):
        run(tmp_path, f"self_on/{seed}", cfg=peer("online", **{"kd_mode.name": "self"}), seed=seed,
                 student_acc=73.0, metrics={"ensemble_acc": on - 1, "ensemble_best_acc": on})
        run(tmp_path, f"self_sp/{seed}", cfg=peer("spaced", 4.0, **{"kd_mode.name": "self"}), seed=seed,
                 student_acc=73.5, metrics={"ensemble_acc": sp - 1, "ensemble_best_acc": sp})
    df = collect(tmp_path)
    t2 = build_table(df, 2)
    assert t2.metric == "ensemble_best_acc" and t2.spec.interval == 4.0
    assert cell(t2, "w/o KD", network="ResNet-18")["mean"] == 69.0  # the plain network's best over epochs
    assert cell(t2, "w/o Ours", network="ResNet-18")["mean"] == 74.5
    assert cell(t2, "w/ Ours", network="ResNet-18")["mean"] == 77.0
    d = cell(t2, "Δ", network="ResNet-18")
    assert (d["mean"], d["std"]) == (pytest.approx(2.5), pytest.approx(math.sqrt(2) / 2))  # diffs 3, 2
    assert "Metric: ensemble_best_acc" in t2.to_markdown().splitlines()[-2]  # printed under the table
    # --metric overrides the table's choice, and the line under the table says so
    last = build_table(df, 2, metric="student_acc")
    assert cell(last, "w/ Ours", network="ResNet-18")["mean"] == 73.5
    assert "chosen with --metric" in last.to_markdown()
    assert build_table(df, 1).metric == "student_best_acc"
    # --last-epoch: the ensemble at the last epoch; the plain network's own last epoch
    t2_last = build_table(df, 2, last=True)
    assert t2_last.metric == "ensemble_acc" and cell(t2_last, "w/ Ours", network="ResNet-18")["mean"] == 76.0
    assert cell(t2_last, "w/o KD", network="ResNet-18")["mean"] == 68.0


def test_table3_rows_are_the_feature_term_labelled_as_the_paper(tmp_path):
    official = {"recipe.name": "official"}
    for feature, (on, sp) in {"l1": (70.0, 71.0), "mse_sum": (70.5, 72.0), "ce": (69.0, 69.5)}.items():
        f = {**official, "loss.feature": feature}
        write(tmp_path, f"{feature}on", peer("online", **f), [on, on])
        write(tmp_path, f"{feature}sp", peer("spaced", 1.5, **f), [sp - 0.5, sp + 0.5])
    t3 = build_table(collect(tmp_path), 3)
    # every feature term is a row of its own (the old table showed one "KL" row and dropped the rest)
    assert set(t3.cells["feature"]) == {"L1", "MSE (sum)", "Cross-entropy"}
    assert cell(t3, "w/ Ours", feature="MSE (sum)")["mean"] == 72.0
    assert cell(t3, "Δ", feature="L1")["mean"] == pytest.approx(1.0)
    assert t3.warnings == []  # nothing left out: the feature term is what the table varies
    rows = md_rows(t3.to_markdown())
    assert rows[0][:3] == ["Dataset", "Network", "Loss (feature term)"]
    assert "Recipe: official" in t3.to_markdown()


def test_table10_columns_are_online_and_the_papers_ahead_intervals(tmp_path):
    write(tmp_path, "online", peer("online"), [71.0, 71.0])
    write(tmp_path, "ahead1", peer("ahead", 1.0), [70.5, 70.9])
    write(tmp_path, "ahead3", peer("ahead", 3.0), [60.0, 60.0])  # not a column of the paper's table
    write(tmp_path, "r50", peer("online", **{"model.name": "resnet50"}), [72.0])  # never run ahead: no row
    t10 = build_table(collect(tmp_path), 10, paper=True)
    assert set(t10.cells["network"]) == {"ResNet-18"}
    assert [c.label for c in t10.spec.cols] == ["0", "0.5", "1", "1.5", "2", "2.5"]
    assert cell(t10, "0", network="ResNet-18")["mean"] == 71.0
    assert cell(t10, "1", network="ResNet-18")["mean"] == pytest.approx(70.7)
    assert cell(t10, "2.5", network="ResNet-18")["n"] == 0
    assert cell(t10, "0", network="ResNet-18")["paper"] == 71.05


def test_table7_is_deit_tiny_on_imagenet1k(tmp_path):
    vit = {"model.name": "deit_tiny", "dataset.name": "imagenet1k"}
    write(tmp_path, "none", peer("none", **vit), [72.0, 72.2])
    write(tmp_path, "online", peer("online", **vit), [73.0, 73.0])
    write(tmp_path, "spaced", peer("spaced", 1.5, **vit), [74.0, 74.4])
    write(tmp_path, "cifar", peer("online", **{"model.name": "deit_tiny"}), [65.0])  # Tab. 1's, not Tab. 7's
    t7 = build_table(collect(tmp_path), 7, paper=True)
    assert set(zip(t7.cells["dataset"], t7.cells["network"])) == {("ImageNet-1K", "DeiT-Tiny")}
    assert [c.label for c in t7.spec.cols] == ["w/o KD", "w/o Ours", "w/ Ours", "Δ"]
    assert cell(t7, "w/o KD")["mean"] == pytest.approx(72.1)
    assert cell(t7, "Δ")["mean"] == pytest.approx(1.2)
    assert md_rows(t7.to_markdown())[0] == ["Dataset", "Network", "w/o KD", "w/o Ours", "w/ Ours", "Δ"]


PAPER_EQUATIONS = {"preset": None}  # `+sweep=… recipe=default`: the recipe comes from the command line


def test_runs_of_different_recipes_are_never_averaged(tmp_path):
    default = {"recipe.name": "default"}
    write(tmp_path, "on", peer("online", **default), [70.0, 70.0], **PAPER_EQUATIONS)
    write(tmp_path, "sp", peer("spaced", 1.5, **default), [72.0, 72.0], **PAPER_EQUATIONS)
    write(tmp_path, "on_off", peer("online"), [60.0, 60.0])
    write(tmp_path, "sp_off", peer("spaced", 1.5), [66.0, 66.0])
    df = collect(tmp_path)
    here = {"dataset": "CIFAR-100", "network": "ResNet-18"}
    for pool in (False, True):  # not even when every other setting is pooled
        t1 = build_table(df, 1, pool=pool)
        assert cell(t1, "w/ Ours", recipe="default", **here)["mean"] == 72.0
        assert cell(t1, "w/ Ours", recipe="official", **here)["mean"] == 66.0
        assert cell(t1, "Δ", recipe="official", **here)["mean"] == 6.0
        assert any("never averaged" in w for w in t1.warnings)
    rows = md_rows(build_table(df, 1).to_markdown())
    assert rows[0][:3] == ["Recipe", "Dataset", "Network"]
    assert [r[0] for r in rows[1:] if r[0]] == ["default", "official"]
    one = build_table(df, 1, where={"recipe": ["official"]})
    assert "recipe" not in one.cells.columns and "Recipe: official" in one.to_markdown()


def test_paper_values_go_beside_release_recipe_cells_only(tmp_path):
    """Both recipes in one root: --paper compares the release recipe's cells with the paper, and the
    paper's equations get a labelled table of their own, never a paper value."""
    default = {"recipe.name": "default"}
    write(tmp_path, "on", peer("online", **default), [70.0, 70.0], **PAPER_EQUATIONS)
    write(tmp_path, "sp", peer("spaced", 1.5, **default), [72.0, 72.0], **PAPER_EQUATIONS)
    write(tmp_path, "on_off", peer("online"), [60.0, 60.0])
    write(tmp_path, "sp_off", peer("spaced", 1.5), [66.0, 66.0])
    df = collect(tmp_path)
    here = {"dataset": "CIFAR-100", "network": "ResNet-18"}
    for pool in (False, True):
        paper, other = build_tables(df, 1, paper=True, pool=pool)
        assert "recipe" not in paper.cells.columns and set(paper.recipes) == {"official"}
        assert cell(paper, "w/ Ours", **here)["mean"] == 66.0 and cell(paper, "w/ Ours", **here)["paper"] == 72.43
        assert paper.other_recipes == ["default"] and any("table of their own" in w for w in paper.warnings)
        assert not other.with_paper and "paper" not in other.cells.columns
        assert cell(other, "w/ Ours", **here)["mean"] == 72.0
        assert "recipe=default: not the recipe of the paper's numbers" in other.to_markdown()
    # rendered: no paper value on any line of the default-recipe table; the release table has them
    text = paper.to_markdown()
    assert "72.43" in text and "Recipe: official, the recipe of the paper's numbers" in text
    assert "72.43" not in other.to_markdown() and "· paper" not in other.to_markdown()
    # only the paper equations' runs: the paper's rows stay, every one missing, beside their own table
    only_default = df[df["recipe"] == "default"]
    paper, other = build_tables(only_default, 1, paper=True)
    assert cell(paper, "w/ Ours", **here)["n"] == 0 and cell(paper, "w/ Ours", **here)["paper"] == 72.43
    assert cell(other, "w/ Ours", **here)["mean"] == 72.0
    # the recipe-split table never takes paper values
    split = build_table(df, 1)
    with pytest.raises(ValueError, match="not beside a table split by recipe"):
        attach_paper(split.cells, split.spec)


def test_paper_cli_prints_the_other_recipe_apart(tmp_path, capsys):
    write(tmp_path, "on", peer("online", **{"recipe.name": "default"}), [70.0, 70.0], **PAPER_EQUATIONS)
    write(tmp_path, "on_off", peer("online"), [60.0, 60.0])
    assert main([str(tmp_path), "-t", "1", "--paper"]) == 0
    out, err = capsys.readouterr()
    first, second = out.split("**Table 1:")[1:]
    assert "71.05" in first and "recipe=default" not in first.split("\n")[0]  # the paper's w/o Ours
    assert second.startswith(" Overall performance of online KD (%), spaced interval 1.5 epochs. recipe=default")
    assert "71.05" not in second and "· paper" not in second
    assert "come from recipe=official" in err
    assert main([str(tmp_path), "-t", "1", "--paper", "-f", "csv"]) == 0
    out, _ = capsys.readouterr()
    frames = [pd.read_csv(io.StringIO(part)) for part in out.strip().split("\n\n")]
    assert [set(f["recipe"]) for f in frames] == [{"official"}, {"default"}]
    assert "paper" in frames[0].columns and "paper" not in frames[1].columns


def test_one_accuracy_rule_per_table_and_the_last_epoch_beside_it(tmp_path, capsys):
    """Every table compares the best accuracy over epochs, what the release logs; --last-epoch gives the
    last epoch's. The runs' best and last disagree on purpose."""
    for seed in (0, 1):
        run(tmp_path, f"none{seed}", cfg=peer("none"), seed=seed, student_acc=60.0,
            metrics={"student_best_acc": 61.0})
        run(tmp_path, f"on{seed}", cfg=peer("online"), seed=seed, student_acc=62.0, teacher_acc=59.0,
            metrics={"student_best_acc": 64.0, "teacher_best_acc": 63.0})
        run(tmp_path, f"sp{seed}", cfg=peer("spaced", 1.5), seed=seed, student_acc=63.0,
            metrics={"student_best_acc": 66.0})
        run(tmp_path, f"t8_{seed}", cfg=peer("online", **{"teacher.name": "resnet50"}), seed=seed, student_acc=50.0,
            teacher_acc=51.0, metrics={"student_best_acc": 55.0, "teacher_best_acc": 56.0})
    df = collect(tmp_path)
    for number in (1, 6):
        best, last = build_table(df, number), build_table(df, number, last=True)
        assert (best.metric, last.metric) == ("student_best_acc", "student_acc")
        assert cell(best, best.spec.cols[0].label, network="ResNet-18")["mean"] == 61.0  # w/o KD / Baseline
        assert cell(last, last.spec.cols[0].label, network="ResNet-18")["mean"] == 60.0
        assert cell(best, best.spec.cols[1].label, network="ResNet-18")["mean"] == 64.0  # online
        assert cell(last, last.spec.cols[1].label, network="ResNet-18")["mean"] == 62.0
        footer = best.to_markdown().splitlines()[-2]
        assert footer.startswith("Metric: student_best_acc — best test accuracy over epochs")
        assert "the table's rule; --last-epoch: student_acc" in footer
        assert "Metric: student_acc — the last epoch's (--last-epoch" in last.to_markdown()
    t8, t8_last = build_table(df, 8), build_table(df, 8, last=True)
    assert cell(t8, "Baseline", teacher="ResNet-50")["mean"] == 56.0  # the teacher's best, by the same rule
    assert cell(t8_last, "Baseline", teacher="ResNet-50")["mean"] == 51.0
    assert build_table(df, 4).metric == "student_release_acc"  # each method by its own release
    assert build_table(df, 4, last=True).metric == "student_acc"
    assert main([str(tmp_path), "-t", "1", "--last-epoch"]) == 0
    assert "Metric: student_acc" in capsys.readouterr().out
    assert main([str(tmp_path), "-t", "1", "--last-epoch", "--metric", "student_acc"]) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith("error: --metric names the metric itself")


def test_probe_tables_5_11_12(tmp_path):
    def probes(acc, robust):
        return {"corruptions": {"snow": {"1.0": acc, "2.0": acc - 5, "3.0": acc - 10, "5.0": acc - 20}},
                "bim": {"clean_acc": acc, "robust_acc": robust, "eps": 0.03}}
    for seed, (on, sp) in enumerate([(60.0, 61.0), (62.0, 65.0)]):
        run(tmp_path, f"on{seed}", cfg=peer("online"), student_acc=70, seed=seed, probes=probes(on, on / 2))
        run(tmp_path, f"sp{seed}", cfg=peer("spaced", 1.5), student_acc=71, seed=seed, probes=probes(sp, sp / 2))
    run(tmp_path, "noprobe", cfg=peer("online"), student_acc=70, seed=5)
    df = collect(tmp_path)
    t5 = build_table(df, 5)
    assert set(t5.cells["intensity"]) == {1.0}
    assert cell(t5, "w/o Ours", attack="snow")["mean"] == 61.0
    d = cell(t5, "Δ", attack="snow")
    assert (d["mean"], d["std"]) == (pytest.approx(2.0), pytest.approx(math.sqrt(2)))  # diffs 1, 3
    t11 = build_table(df, 11, paper=True)
    assert set(t11.cells["intensity"]) == {3.0, 5.0}  # what the paper shows
    assert cell(t11, "w/ Ours", attack="snow", intensity=5.0, network="ResNet-18")["mean"] == 43.0
    assert cell(t11, "w/ Ours", attack="snow", intensity=3.0, network="ResNet-18")["paper"] == 45.42
    t12 = build_table(df, 12)
    assert cell(t12, "w/o", network="ResNet-18")["mean"] == 30.5
    assert cell(t12, "w/o", network="ResNet-18")["n_novalue"] == 1  # the run without probes.json
    rows = md_rows(t12.to_markdown())
    assert [r[0] for r in rows] == ["", "w/o", "w/1.5", "Δ"] and rows[0][1] == "CIFAR-100 · ResNet-18"


def test_every_table_builds_on_a_full_fake_sweep(tmp_path):
    paper_sweep(tmp_path, seeds=(0, 1))
    df = collect(tmp_path)
    for number in TABLES:
        for result in build_tables(df, number, paper=True):
            text = result.to_markdown()
            rows = md_rows(text)
            shown = set(rows[0]) | {r[0] for r in rows} | {h.split(" · ")[-1] for h in rows[0]}
            assert {c.label for c in result.spec.cols} <= shown, number  # every column, even when empty
            assert result.to_latex().count(r"\begin{tabular}") == 1
            assert len(pd.read_csv(io.StringIO(result.to_csv()))) == len(result.cells)
            # a paper value stands only beside a cell of the recipe the paper's numbers come from
            assert result.with_paper == (result.paper_recipe is not None)
            if result.with_paper:
                assert set(result.recipes) <= {result.spec.paper_recipe}, number
    # the fake sweep plants a gain of 3s − s² over online KD: Tab. 6's w/1.5 is online + 2.25
    t6 = build_table(df, 6)
    shift = (SEED_OFFSET[0] + SEED_OFFSET[1]) / 2
    assert cell(t6, "w/1.5", network="ResNet-50")["mean"] == pytest.approx(BASE["resnet50"] + 3.0 + 2.25 + shift)
    assert cell(t6, "w/1.5", network="ResNet-101")["n_failed"] == 2  # one failed, one killed on Slurm
    assert cell(t6, "w/1.5", network="ResNet-101")["n_unfinished"] == 1
    # the fake sweep holds a recipe=default rerun of ResNet-18's row too: tables split by recipe, never mix
    assert set(t6.cells["recipe"]) == {"default", "official"}
    official = BASE["resnet18"] + 3.0 + 2.25 + shift
    assert cell(t6, "w/1.5", network="ResNet-18", recipe="official")["mean"] == pytest.approx(official)
    assert cell(t6, "w/1.5", network="ResNet-18", recipe="default")["mean"] == pytest.approx(official + DEFAULT_RECIPE_SHIFT)
    paper, other = build_tables(df, 6, paper=True)
    c100 = {"network": "ResNet-18", "dataset": "CIFAR-100"}
    assert cell(paper, "w/1.5", **c100)["mean"] == pytest.approx(official)
    assert cell(paper, "w/1.5", **c100)["paper"] == 72.43
    assert cell(other, "w/1.5", network="ResNet-18")["mean"] == pytest.approx(official + DEFAULT_RECIPE_SHIFT)
    assert set(other.cells["network"]) == {"ResNet-18"} and "paper" not in other.cells.columns
    t2 = build_table(df, 2)
    # Tab. 2 reads the ensemble (the fake's seed offset is on the student only)
    assert cell(t2, "w/ Ours", network="ResNet-50")["mean"] == pytest.approx(BASE["resnet50"] + SELF_SPACED_ENSEMBLE)


def test_cli_prints_table6_layout(table6_root, capsys):
    assert main([str(table6_root), "--table", "6"]) == 0
    out, err = capsys.readouterr()
    assert re.search(r"\|\s*Dataset\s*\|\s*Network\s*\|\s*Baseline\s*\|\s*w/o\s*\|\s*w/0.5\s*\|", out)
    assert err.strip().endswith("17 runs: 15 completed, 1 failed, 1 no_summary")
    assert main([str(table6_root), "-t", "1", "-t", "6", "--format", "csv"]) == 0
    out, _ = capsys.readouterr()
    assert out.count("table,dataset,network,column") == 2
    assert main([str(table6_root), "-t", "6", "-f", "latex", "--paper"]) == 0
    out, _ = capsys.readouterr()
    assert r"\begin{tabular}" in out and "72.43" in out
    assert main([str(table6_root), "-t", "6", "--metric", "nope"]) == 2
    assert main([str(table6_root), "-t", "13"]) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith("error: --table 13: choose from")
