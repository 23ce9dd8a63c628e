"""Every config path analysis names exists in the schema (spaced_kd.config.Config).

A key renamed or retired in the schema must not leave analysis reading a column that no run
writes any more (as `loss.name` did): this fails first.
"""
import ast
import dataclasses
import re
from pathlib import Path
from typing import get_type_hints

from analysis_fakes import ROOT
from analysis.collect import LOSS_KEY, OLD_LOSS_KEY
from analysis.select import NEVER_POOLED, NUISANCE, SETTING_KEYS
from spaced_kd.config import RETIRED, Config

# Keys analysis reads before the schema has them, each with why (the test fails once one lands,
# so it moves to the checked set).

def schema_paths(schema: type = Config, prefix: str = "") -> set[str]:
    """Every dotted path of the schema, sections included ("optim", "optim.lr", …)."""
    hints = get_type_hints(schema)
    out = set()
    for f in dataclasses.fields(schema):
        path = f"{prefix}{f.name}"
        out.add(path)
        if dataclasses.is_dataclass(hints[f.name]):
            out |= schema_paths(hints[f.name], path + ".")
    return out


PATHS = schema_paths()
SECTIONS = {p for p in PATHS if "." not in p}


def test_the_schema_walk_sees_sections_and_leaves():
    assert {"optim", "optim.lr", "loss.logit", "recipe.name", "interval"} <= PATHS
    assert "loss.name" not in PATHS  # retired


def test_setting_keys_name_schema_paths():
    for setting, keys in SETTING_KEYS.items():
        assert setting in NUISANCE, setting
        for key in keys:
            assert key in PATHS, f"SETTING_KEYS[{setting!r}] names {key!r}, which is not in Config"
    assert set(NEVER_POOLED) <= set(NUISANCE)


def test_the_loss_shim_reads_a_current_key_and_a_retired_one():
    assert LOSS_KEY in PATHS
    assert OLD_LOSS_KEY in RETIRED and OLD_LOSS_KEY not in PATHS


def _dotted_strings(path: Path) -> set[str]:
    """String constants of a module that look like a dotted config key of one of the schema's sections."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
            if re.fullmatch(r"[a-z_]+(\.[a-z_0-9]+)+", text) and text.split(".")[0] in SECTIONS:
                found.add(text)
    return found


def test_every_dotted_config_key_named_in_analysis_exists():
    named = {}
    for module in sorted((ROOT / "analysis").glob("*.py")):
        for key in _dotted_strings(module):
            named.setdefault(key, module.name)
    assert {"kd.name", "optim.lr", "loss.feature", "method.name", "method.kd"} <= set(named)  # the scan finds the keys collect reads
    unknown = {k: m for k, m in named.items() if k not in PATHS and k not in RETIRED}
    assert not unknown, f"config keys named in analysis but not in spaced_kd.config.Config: {unknown}"

