"""The run directory: the one contract between training, probes and analysis.

Standard library only, so analysis and the probes can read runs without the training stack.
Every file name of a run lives here, and so does every way of reading or writing those files:

    <run>/.hydra/config.yaml      the composed config (YAML: read by the callers that parse YAML)
    <run>/.hydra/overrides.yaml   the command-line overrides of the run
    <run>/metrics.jsonl           one JSON object per evaluation, appended
    <run>/summary.json            status, final metrics, resolved config; written atomically
    <run>/probes.json             generalisation probes (probes-<role>.json for other roles)
    <run>/checkpoints/last.pt     the checkpoint (torch format; spaced_kd.checkpoint reads it)
    <run>/.lock                   held (flock) by the one process that writes the run

See docs/design.md, "The run directory".
"""
from __future__ import annotations

import errno
import json
import math
import os
import time
from pathlib import Path
from typing import Any, Iterable, Iterator, Optional

from .atomic import atomic_file, write_json_atomic
from .errors import UserError

HYDRA_DIR = ".hydra"
CONFIG = Path(HYDRA_DIR) / "config.yaml"
OVERRIDES = Path(HYDRA_DIR) / "overrides.yaml"
HYDRA = Path(HYDRA_DIR) / "hydra.yaml"
METRICS = "metrics.jsonl"
SUMMARY = "summary.json"
PROBES = "probes.json"
CHECKPOINT = Path("checkpoints") / "last.pt"
LOCK = ".lock"

# Any one of these makes a folder a run directory.
MARKERS = (SUMMARY, METRICS, str(CONFIG), str(CHECKPOINT))

# Statuses a summary can hold; "killed" is written by the sweep for a job that died outright.
STATUSES = ("completed", "failed", "running", "killed")


class Unreadable(UserError, ValueError):
    """A run file exists but is not what it should be (truncated, garbage, wrong type)."""


# ---------------------------------------------------------------- finding runs


def is_run_dir(path: Path) -> bool:
    return any((path / marker).is_file() for marker in MARKERS)


def find_runs(paths: Iterable[str | os.PathLike]) -> list[tuple[Path, Path]]:
    """(root, run dir) for every run under each path, in sorted order; a path may be a run itself.

    A run's own sub-folders (checkpoints, wandb) are not searched, nor hidden folders
    (.hydra, .submitit). A path that does not exist raises FileNotFoundError.
    """
    found: list[tuple[Path, Path]] = []
    seen: set[Path] = set()
    for raw in paths:
        root = Path(raw).resolve()
        if not root.exists():
            raise FileNotFoundError(f"no such sweep root or run directory: {raw}")
        for run in _walk(root):
            if run not in seen:
                seen.add(run)
                found.append((root, run))
    return found


def _walk(root: Path) -> Iterator[Path]:
    if is_run_dir(root):
        yield root
        return
    if not root.is_dir():
        return
    for dirpath, dirnames, _ in os.walk(root):
        here = Path(dirpath)
        if here != root and is_run_dir(here):
            dirnames[:] = []
            yield here
            continue
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))


# ---------------------------------------------------------------- JSON files


def read_json(path: Path, strict: bool = False) -> Any:
    """The parsed file; None when it does not exist. Garbage: None, or Unreadable when strict."""
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        if strict:
            raise Unreadable(f"{path} is unreadable ({type(exc).__name__})") from None
        return None


def read_summary(run: Path, strict: bool = False) -> Optional[dict]:
    """summary.json as a dict; None when absent. A damaged file: None, or Unreadable when strict."""
    data = read_json(Path(run) / SUMMARY, strict)
    if data is not None and not isinstance(data, dict):
        if strict:
            raise Unreadable(f"{Path(run) / SUMMARY} is unreadable (not a JSON object)")
        return None
    return data


def write_summary(run: Path, summary: dict) -> None:
    write_json_atomic(Path(run) / SUMMARY, summary)


def write_text(run: Path, relative: str | Path, text: str) -> None:
    """One run file (e.g. .hydra/config.yaml), atomically."""
    with atomic_file(Path(run) / relative) as f:
        f.write(text)


# ---------------------------------------------------------------- metrics.jsonl


def metric_line(row: dict) -> str:
    return json.dumps(row, allow_nan=True) + "\n"


def read_metrics(run: Path) -> list[dict]:
    """The rows of metrics.jsonl in order; an incomplete or damaged line (a killed writer) is skipped."""
    path = Path(run) / METRICS
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return []
    rows = []
    for line in text.splitlines(keepends=True):
        if not line.endswith("\n"):
            break  # the last line of a writer that died mid-write
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict):
            rows.append(row)
    return rows


def append_metric(run: Path, row: dict) -> None:
    with open(Path(run) / METRICS, "a") as f:
        f.write(metric_line(row))


def write_metrics(run: Path, rows: list[dict]) -> None:
    """Replace metrics.jsonl by exactly these rows, atomically (resume repair)."""
    with atomic_file(Path(run) / METRICS) as f:
        f.writelines(metric_line(r) for r in rows)


# ---------------------------------------------------------------- probes.json


def probes_path(run: Path, role: str = "student") -> Path:
    """RUN/probes.json for the student (the file analysis reads); RUN/probes-<role>.json otherwise."""
    return Path(run) / (PROBES if role == "student" else f"probes-{role}.json")


def read_probes(run: Path, role: str = "student") -> Optional[dict]:
    data = read_json(probes_path(run, role))
    return data if isinstance(data, dict) else None


def _json_safe(value: Any) -> Any:
    """Non-finite floats → null (strict JSON readers choke on NaN)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def merge_probes(run: Path, results: dict, meta: Optional[dict] = None, role: str = "student") -> dict:
    """Merge `results` (top-level keys replaced) and `meta` (into "meta", per probe) into the run's
    probes file, atomically and under the run's lock (waiting for it), so that several evaluations
    of one run never lose each other's results."""
    path = probes_path(run, role)
    with RunLock(Path(run), timeout=60.0):
        merged = read_probes(run, role) or {}
        merged.update(_json_safe(results))
        if meta:
            old = merged.get("meta") if isinstance(merged.get("meta"), dict) else {}
            merged["meta"] = {**old, **_json_safe(meta)}
        write_json_atomic(path, merged, indent=1)
    return merged


# ---------------------------------------------------------------- the lock


class RunLocked(UserError):
    def __init__(self, run: Path, pid: Optional[int]):
        self.run, self.pid = run, pid
        holder = f"process {pid}" if pid else "another process"
        super().__init__(f"run directory {run} is in use by {holder}; wait for it to finish or choose another "
                         f"directory with hydra.run.dir=PATH")


class RunLock:
    """An exclusive flock on RUN/.lock, held for the life of the writer.

    flock belongs to the open file, so the lock of a process that dies (kill -9, OOM, requeue)
    is released by the kernel: a stale lock file never blocks. A busy lock is retried for
    `timeout` seconds, then refused with RunLocked naming the holder's PID (which the holder
    writes into the file).
    """

    def __init__(self, run: Path, timeout: float = 0.0):
        self.run, self.timeout = Path(run), timeout
        self._fd: Optional[int] = None

    def __enter__(self) -> "RunLock":
        import fcntl

        self.run.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.run / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    os.close(fd)
                    raise
                if time.monotonic() >= deadline:
                    pid = _read_pid(fd)
                    os.close(fd)
                    raise RunLocked(self.run, pid) from None
                time.sleep(0.05)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd
        return self

    def __exit__(self, *exc: Any) -> None:
        import fcntl

        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def _read_pid(fd: int) -> Optional[int]:
    try:
        text = os.pread(fd, 32, 0).decode().strip()
        return int(text) if text.isdigit() else None
    except OSError:
        return None


def holder(run: Path) -> Optional[int]:
    """PID of the process writing the run now, or None when nobody holds its lock."""
    import fcntl

    path = Path(run) / LOCK
    if not path.exists():
        return None
    fd = os.open(path, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            return _read_pid(fd) or -1
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)
