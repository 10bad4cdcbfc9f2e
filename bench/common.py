"""What every benchmark module shares: results, statistics, timed subprocesses, paths.

A benchmark module exposes ``run(ctx: Context) -> Section``. A :class:`Section`
holds :class:`Result` rows (one line of the summary table each: the measured
values of every run, the baseline's values from the same run, the target and
whether it was met) and free markdown notes (definitions, what bounds a missed
target). :func:`repeat` runs a measurement several times within a time budget,
and :func:`run_process` runs a command while recording its wall time, its peak
resident memory (``wait4`` in :mod:`bench.peak_rss`) and when each line of its output appeared.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from bench.load_submit import percentile
from tests.survey.live_server import server_environment

PROJECT_ROOT = Path(__file__).resolve().parents[1]
PEAK_RSS_LAUNCHER = Path(__file__).with_name("peak_rss.py")
BENCH_DIR = PROJECT_ROOT / "bench"
DATA_DIR = BENCH_DIR / ".data"
WORK_DIR = DATA_DIR / "work"
RESULTS_PATH = BENCH_DIR / "RESULTS.md"

T = TypeVar("T")

__all__ = [
    "DATA_DIR",
    "PROJECT_ROOT",
    "WORK_DIR",
    "Context",
    "ProcessRun",
    "Result",
    "Section",
    "cli_environment",
    "fmt",
    "fsync_rate",
    "hash_files",
    "machine_cpu",
    "median",
    "negoscope_command",
    "percentile",
    "phase_table",
    "phases",
    "repeat",
    "run_process",
    "spread",
    "sqlite_checkpoint",
    "sqlite_url",
    "work_dir",
]


# --------------------------------------------------------------------------- results


def median(values: Sequence[float]) -> float:
    """Median; NaN for no values.

    Examples
    --------
    >>> median([3.0, 1.0, 2.0])
    2.0
    """
    return statistics.median(values) if values else math.nan


def spread(values: Sequence[float]) -> tuple[float, float]:
    """(min, max); (NaN, NaN) for no values.

    Examples
    --------
    >>> spread([3.0, 1.0, 2.0])
    (1.0, 3.0)
    """
    return (min(values), max(values)) if values else (math.nan, math.nan)


def fmt(value: float, unit: str = "") -> str:
    """A number with about three significant digits and its unit.

    Examples
    --------
    >>> fmt(1234.5, "req/s"), fmt(12.345, "s"), fmt(0.01234, "s")
    ('1234 req/s', '12.3 s', '0.0123 s')
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    magnitude = abs(value)
    if magnitude >= 100 or value == int(value):
        text = f"{value:.0f}"
    elif magnitude >= 10:
        text = f"{value:.1f}"
    elif magnitude >= 1:
        text = f"{value:.2f}"
    else:
        text = f"{value:.3g}"
    return f"{text} {unit}".strip()


@dataclass
class Result:
    """One row of the summary table: a measure, its baseline, its target.

    ``values`` and ``baseline_values`` hold one number per run; ``ratio`` is
    the ratio of their medians. ``met`` is True/False when a target was
    judged, None when the row is only reported. ``missing`` says why nothing
    was measured.
    """

    benchmark: str
    measure: str
    unit: str
    values: list[float] = field(default_factory=list)
    baseline: str = ""
    baseline_values: list[float] = field(default_factory=list)
    baseline_unit: str | None = None
    target: str = ""
    met: bool | None = None
    missing: str | None = None

    @property
    def ratio(self) -> float:
        """median(values) / median(baseline_values); NaN without both."""
        if not self.values or not self.baseline_values:
            return math.nan
        base = median(self.baseline_values)
        return median(self.values) / base if base else math.nan

    @property
    def missing_text(self) -> str:
        """Why nothing was measured, as a phrase starting with "not measured"."""
        text = self.missing or ""
        return text if text.startswith("not measured") else f"not measured: {text}"

    def cells(self) -> list[str]:
        """The markdown table cells of this row."""
        if self.missing:
            empty = ["", "", ""]
            return [
                self.benchmark,
                self.measure,
                self.missing_text,
                *empty,
                self.target,
                "not measured",
            ]
        return [
            self.benchmark,
            self.measure,
            _summary(self.values, self.unit),
            self.baseline,
            _summary(self.baseline_values, self.baseline_unit or self.unit),
            fmt(self.ratio),
            self.target,
            {True: "**met**", False: "**missed**", None: "reported"}[self.met],
        ]


def _summary(values: Sequence[float], unit: str) -> str:
    if not values:
        return "n/a"
    if len(values) == 1:
        return f"{fmt(values[0], unit)} (1 run)"
    low, high = spread(values)
    return f"{fmt(median(values), unit)} ({fmt(low)}–{fmt(high)}, {len(values)} runs)"


@dataclass
class Section:
    """What one benchmark module measured: table rows and markdown notes."""

    title: str
    results: list[Result] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


# --------------------------------------------------------------------------- context


@dataclass
class Context:
    """What the orchestrator hands every benchmark.

    ``runs`` is the most runs of any measurement; ``budget_scale`` multiplies
    each benchmark's own time budget (``--quick`` makes it small). ``data`` is
    the built data set (:class:`bench.bench_data.DataSet`), ``fsync_per_s``
    the disk's measured fsync rate.
    """

    runs: int = 3
    budget_scale: float = 1.0
    data: object | None = None
    fsync_per_s: float = math.nan
    postgres: bool = True
    log: Callable[[str], None] = print

    def budget(self, seconds: float) -> float:
        return seconds * self.budget_scale


def repeat(
    measure: Callable[[int], T],
    *,
    runs: int,
    budget: float,
    log: Callable[[str], None] | None = None,
    label: str = "",
) -> list[T]:
    """Call ``measure(i)`` up to ``runs`` times, at least once, within ``budget`` seconds.

    Another run starts only when the time used so far plus the slowest run
    still fits in the budget, so the whole benchmark stays bounded.

    Examples
    --------
    >>> repeat(lambda i: i * 2, runs=3, budget=10.0)
    [0, 2, 4]
    """
    started = time.monotonic()
    slowest = 0.0
    results: list[T] = []
    for index in range(max(1, runs)):
        used = time.monotonic() - started
        if index and used + slowest > budget:
            if log:
                log(f"{label}: {index} of {runs} runs (budget {budget:.0f} s)")
            break
        run_started = time.monotonic()
        results.append(measure(index))
        slowest = max(slowest, time.monotonic() - run_started)
    return results


# --------------------------------------------------------------------------- processes


@dataclass
class ProcessRun:
    """A finished command: exit code, wall time, peak RSS and timed output lines."""

    command: list[str]
    returncode: int
    seconds: float
    peak_rss_bytes: int
    lines: list[tuple[float, str]]
    timed_out: bool = False
    cpu_seconds: float = 0.0  # user + system, the command and its waited-for descendants
    machine_busy: float = math.nan  # share of all cores busy (any process) meanwhile

    @property
    def output(self) -> str:
        return "\n".join(line for _, line in self.lines)

    def check(self) -> ProcessRun:
        """``self`` when the command succeeded, else RuntimeError with its output."""
        if self.returncode != 0 or self.timed_out:
            what = "timed out" if self.timed_out else f"exit status {self.returncode}"
            tail = "\n".join(line for _, line in self.lines[-30:])
            raise RuntimeError(f"{' '.join(self.command[:4])} ...: {what}\n{tail}")
        return self

    def cpu_line(self) -> str:
        """How many cores the command kept busy, and how busy the machine was."""
        return (
            f"The command used {self.cpu_seconds:.0f} CPU-seconds in {self.seconds:.0f} s "
            f"({self.cpu_seconds / max(self.seconds, 1e-9):.2f} cores on average); all "
            f"processes together kept the machine's {os.cpu_count()} cores "
            f"{self.machine_busy:.0%} busy meanwhile."
        )

    def first_line_time(self, prefix: str) -> float | None:
        """Seconds after the start when a line starting with ``prefix`` (stripped) appeared."""
        for at, line in self.lines:
            if line.strip().startswith(prefix):
                return at
        return None


def run_process(
    command: Sequence[str],
    *,
    env: dict[str, str] | None = None,
    timeout: float = 600.0,
    stdin_text: str | None = None,
    cwd: Path = PROJECT_ROOT,
) -> ProcessRun:
    """Run ``command`` (in its own session) and measure it.

    The peak resident set size is the largest of the process and every
    descendant it waited for (a fork pool's workers included), from ``wait4``
    in a small launcher (:mod:`bench.peak_rss`), so this process's own size does
    not count. The process group is killed when ``timeout`` passes.

    Examples
    --------
    >>> run = run_process([sys.executable, "-c", "print('hi')"])
    >>> run.returncode, run.lines[0][1], run.peak_rss_bytes > 0
    (0, 'hi', True)
    """
    machine_before = machine_cpu()
    descriptor, peak_name = tempfile.mkstemp(prefix="bench-peak-")
    os.close(descriptor)  # the launcher writes it
    peak_file = Path(peak_name)
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-S", str(PEAK_RSS_LAUNCHER), str(peak_file), *command],
        cwd=cwd,
        env=env,
        stdin=subprocess.PIPE if stdin_text is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        text=True,
        errors="replace",
    )
    lines: list[tuple[float, str]] = []
    timed_out = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append((time.perf_counter() - started, line.rstrip("\n")))

    def kill() -> None:
        timed_out.set()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    timer = threading.Timer(timeout, kill)
    timer.start()
    try:
        if stdin_text is not None:
            assert process.stdin is not None
            with contextlib.suppress(BrokenPipeError):
                process.stdin.write(stdin_text)
                process.stdin.close()
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
    finally:
        timer.cancel()
        if process.returncode is None:  # interrupted: do not leave it running
            kill()
            process.wait(10)
    reader.join(10)
    if process.stdout is not None:
        process.stdout.close()
    peak_kib = peak_file.read_text().strip()  # empty when the launcher was killed
    peak_file.unlink()
    busy, total = (
        after - before for after, before in zip(machine_cpu(), machine_before, strict=True)
    )
    return ProcessRun(
        list(command),
        process.returncode,
        seconds,
        int(peak_kib or usage.ru_maxrss) * 1024,
        lines,
        timed_out.is_set(),
        usage.ru_utime + usage.ru_stime,
        busy / total if total > 0 else math.nan,
    )


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, from ``/proc/stat``.

    Differences of two readings give the share of all cores that any process
    kept busy in between: on a shared machine, what the benchmark competed with.
    """
    ticks = os.sysconf("SC_CLK_TCK")
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields) - idle) / ticks, sum(fields) / ticks


def negoscope_command() -> list[str]:
    """The ``negoscope`` console script of this environment."""
    script = Path(sys.executable).with_name("negoscope")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from survey.cli import main; main()"]


def cli_environment(database_url: str) -> dict[str, str]:
    """Environment of a ``negoscope`` command on ``database_url`` (nothing written to instance/)."""
    env = server_environment(database_url, "bench-" + uuid.uuid4().hex)
    env["PYTHONPATH"] = str(PROJECT_ROOT)
    return env


def phases(
    run: ProcessRun, start_label: str = "start-up (interpreter, imports, app)"
) -> list[tuple[str, float]]:
    """(output line, seconds until the next line or the end), after a start-up phase.

    Examples
    --------
    >>> run = ProcessRun(["x"], 0, 3.0, 0, [(1.0, "Loading"), (2.5, "Wrote")])
    >>> phases(run)
    [('start-up (interpreter, imports, app)', 1.0), ('Loading', 1.5), ('Wrote', 0.5)]
    """
    marks = [(0.0, start_label), *((at, line.strip()) for at, line in run.lines if line.strip())]
    ends = [at for at, _ in marks[1:]] + [run.seconds]
    return [(label, end - at) for (at, label), end in zip(marks, ends, strict=True)]


def phase_table(run: ProcessRun) -> list[str]:
    """Markdown rows of :func:`phases`."""
    rows = ["| step (output line) | seconds |", "|---|---|"]
    rows += [f"| {label.replace('|', '/')} | {seconds:.1f} |" for label, seconds in phases(run)]
    return rows


# --------------------------------------------------------------------------- files and disks


def sqlite_url(path: Path) -> str:
    """SQLAlchemy URL of a SQLite file."""
    return f"sqlite:///{path}"


def sqlite_checkpoint(path: Path) -> None:
    """Fold the WAL into the database file, so that copying the file copies everything."""
    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


@contextlib.contextmanager
def work_dir(name: str) -> Iterator[Path]:
    """A fresh folder under ``bench/.data/work`` (same disk as the data), removed afterwards."""
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    folder = WORK_DIR / f"{name}-{uuid.uuid4().hex[:8]}"
    folder.mkdir()
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def hash_files(paths: Iterable[Path], extra: str = "") -> str:
    """A short SHA-256 of the files' names and contents (and ``extra``)."""
    digest = hashlib.sha256(extra.encode())
    for path in sorted(paths):
        name = path.relative_to(PROJECT_ROOT) if path.is_relative_to(PROJECT_ROOT) else path
        digest.update(str(name).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def fsync_rate(folder: Path, seconds: float = 2.0, block: int = 4096) -> float:
    """Writes of ``block`` bytes each followed by ``fsync`` per second, in ``folder``.

    SQLite with ``synchronous=FULL`` in WAL mode fsyncs the WAL on every
    commit, so this bounds the commits per second of one writer.

    Examples
    --------
    >>> import tempfile
    >>> fsync_rate(Path(tempfile.gettempdir()), seconds=0.05) > 0
    True
    """
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"fsync-{uuid.uuid4().hex[:8]}.bin"
    payload = os.urandom(block)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    count = 0
    try:
        started = time.perf_counter()
        deadline = started + seconds
        while time.perf_counter() < deadline and count < 1_000_000:
            os.pwrite(fd, payload, (count % 64) * block)
            os.fsync(fd)
            count += 1
        elapsed = time.perf_counter() - started
    finally:
        os.close(fd)
        path.unlink(missing_ok=True)
    return count / elapsed
