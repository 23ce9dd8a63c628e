"""analysis.tables: every cell against numbers chosen by hand, missing/failed cells, paper values, CLI."""
import io
import math
import re

import pandas as pd
import pytest

from analysis_fakes import BASE, SEED_OFFSET, make_run, paper_sweep, peer
from analysis.collect import collect
from analysis.tables import TABLES, build_table, main, paper_values


def write(root, name, cfg, values, **kw):
    """One run per seed: values[i] is seed i's student accuracy."""
    for seed, value in enumerate(values):
        make_run(root, f"{name}/seed={seed}", cfg=cfg, student_acc=value, seed=seed, **kw)


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
    make_run(tmp_path, "offline/seed=0", cfg=peer("offline", **r18), status="failed", seed=0)
    # ResNet-50: one seed of the baseline only, plus a run killed before summary.json
    make_run(tmp_path, "r50none/seed=0", cfg=peer("none", **{"model.name": "resnet50"}), student_acc=69.5, seed=0)
    make_run(tmp_path, "r50on/seed=0", cfg=peer("online", **{"model.name": "resnet50"}), status=None,
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
    assert cell(t9, "Offline KD", teacher="ResNet-50")["n"] == 0
    assert cell(t9, "Spaced KD", teacher="ResNet-18×2")["paper"] == 72.77
    assert cell(t9, "Spaced KD", teacher="DeiT-Tiny")["n"] == 0  # paper row, no runs: missing


def test_tables_2_3_10(tmp_path):
    write(tmp_path, "none", peer("none"), [68.0, 68.0])
    write(tmp_path, "self_on", peer("online", **{"kd_mode.name": "self"}), [73.0, 74.0])
    write(tmp_path, "self_sp", peer("spaced", 4.0, **{"kd_mode.name": "self"}), [76.0, 75.0])
    write(tmp_path, "online", peer("online"), [71.0, 71.0])
    write(tmp_path, "ahead1", peer("ahead", 1.0), [70.5, 70.9])
    write(tmp_path, "l1on", peer("online", **{"loss.name": "l1"}), [70.0, 70.0])
    write(tmp_path, "l1sp", peer("spaced", 1.5, **{"loss.name": "l1"}), [71.0, 71.5])
    df = collect(tmp_path)
    t2 = build_table(df, 2)
    assert cell(t2, "w/o KD", network="ResNet-18")["mean"] == 68.0
    assert cell(t2, "w/o Ours", network="ResNet-18")["mean"] == 73.5
    d = cell(t2, "Δ", network="ResNet-18")
    assert (d["mean"], d["std"]) == (pytest.approx(2.0), pytest.approx(math.sqrt(2)))  # diffs 3, 1
    t3 = build_table(df, 3)
    assert cell(t3, "w/ Ours", loss_fn="L1")["mean"] == pytest.approx(71.25)
    assert cell(t3, "w/ Ours", loss_fn="KL")["n"] == 0
    t10 = build_table(df, 10)
    assert [c.label for c in t10.spec.cols] == ["0", "0.5", "1", "1.5", "2", "2.5"]
    assert cell(t10, "0", network="ResNet-18")["mean"] == 71.0
    assert cell(t10, "1", network="ResNet-18")["mean"] == pytest.approx(70.7)
    assert cell(t10, "2.5", network="ResNet-18")["n"] == 0


def test_probe_tables_5_11_12(tmp_path):
    def probes(acc, robust):
        return {"corruptions": {"snow": {"1.0": acc, "3.0": acc - 10, "5.0": acc - 20}},
                "bim": {"clean_acc": acc, "robust_acc": robust, "eps": 0.03}}
    for seed, (on, sp) in enumerate([(60.0, 61.0), (62.0, 65.0)]):
        make_run(tmp_path, f"on{seed}", cfg=peer("online"), student_acc=70, seed=seed, probes=probes(on, on / 2))
        make_run(tmp_path, f"sp{seed}", cfg=peer("spaced", 1.5), student_acc=71, seed=seed, probes=probes(sp, sp / 2))
    make_run(tmp_path, "noprobe", cfg=peer("online"), student_acc=70, seed=5)
    df = collect(tmp_path)
    t5 = build_table(df, 5)
    assert set(t5.cells["intensity"]) == {1.0}
    assert cell(t5, "w/o Ours", attack="snow")["mean"] == 61.0
    d = cell(t5, "Δ", attack="snow")
    assert (d["mean"], d["std"]) == (pytest.approx(2.0), pytest.approx(math.sqrt(2)))  # diffs 1, 3
    t11 = build_table(df, 11, paper=True)
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
        result = build_table(df, number, paper=True)
        text = result.to_markdown()
        rows = md_rows(text)
        shown = set(rows[0]) | {r[0] for r in rows} | {h.split(" · ")[-1] for h in rows[0]}
        assert {c.label for c in result.spec.cols} <= shown, number  # every column, even when empty
        assert result.to_latex().count(r"\begin{tabular}") == 1
        assert len(pd.read_csv(io.StringIO(result.to_csv()))) == len(result.cells)
    # the fake sweep plants a gain of 3s − s² over online KD: Tab. 6's w/1.5 is online + 2.25
    t6 = build_table(df, 6)
    shift = (SEED_OFFSET[0] + SEED_OFFSET[1]) / 2
    assert cell(t6, "w/1.5", network="ResNet-50")["mean"] == pytest.approx(BASE["resnet50"] + 3.0 + 2.25 + shift)
    assert cell(t6, "w/1.5", network="ResNet-101")["n_failed"] == 1


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
    with pytest.raises(SystemExit):
        main([str(table6_root), "-t", "7"])
