"""``make bench``: build the data once, run every benchmark, write ``bench/RESULTS.md``.

Run from the project root::

    .venv/bin/python -m bench.run                  # everything (about 20 minutes)
    .venv/bin/python -m bench.run --only web,dashboard --runs 2
    .venv/bin/python -m bench.run --quick          # smoke test: one short run each

Each benchmark module (``bench/bench_<name>.py``) measures its workload and
its baseline in the same run, several times within its own time budget, and
returns rows for the summary table and notes on what bounds each result. The
export benchmark (``bench/bench_export.py``) is run as a subprocess and its
own markdown output is included. A benchmark that fails is reported as not
measured, with the error; the others still run. Exit status 0 when every
benchmark ran (targets met or not), 1 otherwise.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import os
import platform
import resource
import signal
import sqlite3
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (
    BENCH_DIR,
    DATA_DIR,
    PROJECT_ROOT,
    RESULTS_PATH,
    Context,
    Result,
    Section,
    fsync_rate,
    run_process,
)

BENCHMARKS = ("web", "dashboard", "reports", "profiles", "flags", "analyze", "import", "export")
PACKAGES = (
    "flask", "sqlalchemy", "gunicorn", "psycopg", "pandas", "numpy", "scipy",
    "scikit-learn", "matplotlib", "pyarrow",
)  # fmt: skip
EXPORT_MODULE = PROJECT_ROOT / "bench" / "bench_export.py"
EXPORT_TIMEOUT = 600.0
TOTAL_BUDGET_S = 25 * 60  # the flags simulation and the profile recovery rows added ~6 min


def log(message: str) -> None:
    print(f"[{datetime.now().strftime('%H:%M:%S')}] {message}", flush=True)


# --------------------------------------------------------------------------- machine


def machine_lines(fsync_per_s: float) -> list[str]:
    """Markdown bullets describing this machine and software."""
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 1024**2:.1f} GiB"
    except OSError:
        pass
    versions = []
    for name in PACKAGES:
        try:
            versions.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            versions.append(f"{name} (not installed)")
    return [
        f"- CPU: {cpu}, {os.cpu_count()} cores; memory {memory}",
        f"- OS: {platform.platform()}",
        f"- Python {platform.python_version()}; SQLite {sqlite3.sqlite_version}",
        f"- Packages: {', '.join(versions)}",
        f"- Disk: {fsync_per_s:.0f} fsyncs/s (4 KiB write + fsync loop in bench/.data, 2 s)",
    ]


def git_commit() -> str:
    """Short commit id, with a note when the working tree differs from it (read-only git)."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=10, check=True,
        ).stdout.strip()  # fmt: skip
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=10, check=True,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return "unknown (not a git checkout)"
    return f"`{commit}`" + (" plus uncommitted changes" if dirty else "")


class CpuMeter:
    """CPU seconds used by the whole machine and by this process tree since creation."""

    def __init__(self) -> None:
        self.start = self._read()

    @staticmethod
    def _read() -> tuple[float, float, float]:
        ticks = os.sysconf("SC_CLK_TCK")
        fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
        busy = (sum(fields) - fields[3] - fields[4]) / ticks
        ours = sum(
            resource.getrusage(who).ru_utime + resource.getrusage(who).ru_stime
            for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
        )
        return busy, ours, time.monotonic()

    def summary(self) -> str:
        busy, ours, now = self._read()
        elapsed = now - self.start[2]
        machine = (busy - self.start[0]) / (elapsed * (os.cpu_count() or 1))
        others = max(0.0, (busy - self.start[0]) - (ours - self.start[1]))
        return (
            f"the machine's cores were {machine:.0%} busy on average; processes outside this "
            f"benchmark's own process tree (other users of the machine, and the PostgreSQL "
            f"server) used {others:.0f} CPU-seconds of the {elapsed * (os.cpu_count() or 1):.0f} "
            f"available"
        )


# --------------------------------------------------------------------------- export


def export_section(ctx: Context, seconds_left: float) -> Section:
    """Run ``bench/bench_export.py`` (written separately) and include its output."""
    section = Section("negoscope export of 1,000,000 responses")
    row = "negoscope export, 1,000,000 responses (CSV, Parquet)"
    if not EXPORT_MODULE.exists():
        section.results.append(
            Result(
                row, "wall time and peak memory", "", missing="not measured yet: export not landed"
            )
        )
        return section
    timeout = max(60.0, min(EXPORT_TIMEOUT, seconds_left))
    command = [sys.executable, "-m", "bench.bench_export", "--formats", "csv", "parquet"]
    run = run_process(command, timeout=timeout)
    if run.returncode != 0 or run.timed_out:
        what = f"timed out after {timeout:.0f} s" if run.timed_out else f"exit {run.returncode}"
        section.results.append(
            Result(row, "wall time and peak memory", "", missing=f"bench_export {what}")
        )
        tail = "\n".join(line for _, line in run.lines[-25:])
        section.notes += ["Output of `python -m bench.bench_export`:", "", "```", tail, "```", ""]
        return section
    output = [line for _, line in run.lines]
    rows = export_rows(output)
    if not rows:
        section.results.append(
            Result(
                row,
                "wall time and peak memory",
                "",
                missing="not measured yet: export not landed (bench_export.py printed no results)",
            )
        )
        return section
    section.results += rows
    start = next((i for i, line in enumerate(output) if line.startswith("#")), 0)
    shown = [line for line in output[start:] if not line.startswith(("export ", "pandas "))]
    section.notes += [
        f"`python -m bench.bench_export --formats csv parquet` ({run.seconds:.0f} s; one run "
        "per format, each measure in a fresh process; its 1,000,000-response database is built "
        "once and cached under bench/.data):",
        "",
        *shown,
        "",
    ]
    return section


def export_rows(output: Sequence[str]) -> list[Result]:
    """Summary rows from the markdown table that ``bench/bench_export.py`` prints.

    Examples
    --------
    >>> table = [
    ...     "| format | rows | export s | export peak MB | pandas write s | pandas peak MB |",
    ...     "|---|---|---|---|---|---|",
    ...     "| csv | 999,990 | 42.0 | 501 | 19.1 | 1055 |",
    ... ]
    >>> [(r.measure, r.values, r.baseline_values, r.met) for r in export_rows(table)]
    [('wall time', [42.0], [19.1], False), ('peak RSS', [501.0], [1055.0], False)]
    """
    lines = [line for line in output if line.startswith("|")]
    if len(lines) < 3:
        return []
    header = [cell.strip() for cell in lines[0].strip().strip("|").split("|")]
    needed = ("format", "export s", "export peak MB", "pandas write s", "pandas peak MB")
    if not all(name in header for name in needed):
        return []

    def number(text: str) -> float:
        return float(text.split()[0].rstrip("x").replace(",", ""))

    results = []
    for line in lines[2:]:
        cells = dict(
            zip(header, (c.strip() for c in line.strip().strip("|").split("|")), strict=False)
        )
        fmt_name = cells["format"]
        export_s, pandas_s = number(cells["export s"]), number(cells["pandas write s"])
        peak, pandas_peak = number(cells["export peak MB"]), number(cells["pandas peak MB"])
        benchmark = f"negoscope export, 1,000,000 responses, {fmt_name}"
        writer = {"csv": "to_csv", "parquet": "to_parquet", "xlsx": "to_excel"}.get(
            fmt_name, fmt_name
        )
        baseline = f"pandas {writer} of the same frame"
        results += [
            Result(
                benchmark,
                "wall time",
                "s",
                [export_s],
                baseline,
                [pandas_s],
                target="<= 2 x baseline",
                met=export_s <= 2 * pandas_s,
            ),
            Result(
                benchmark,
                "peak RSS",
                "MB",
                [peak],
                baseline,
                [pandas_peak],
                target="< 500 MB",
                met=peak < 500,
            ),
        ]
    return results


# --------------------------------------------------------------------------- report


# Hand-written files that RESULTS.md embeds, so rewriting it keeps them.
EMBEDDED = (
    ("What changed after profiling, and why", BENCH_DIR / "CHANGES.md"),
    ("Load test with a worker killed mid-run", BENCH_DIR / "LOAD_TEST.md"),
)


def embedded_lines(path: Path) -> list[str]:
    """A hand-written file's lines, its headings one level down (under the section's own)."""
    text = path.read_text(encoding="utf-8").strip()
    return ["#" + line if line.startswith("#") else line for line in text.splitlines()]


def write_results(
    sections: list[Section],
    *,
    started: datetime,
    total_s: float,
    build_s: float,
    data_lines: list[str],
    machine: list[str],
    load: str,
    cpu: str,
    path: Path = RESULTS_PATH,
) -> None:
    """Write RESULTS.md."""
    header = [
        "benchmark", "measure", "result: median (min–max, runs)", "baseline (same run)",
        "baseline: median (min–max, runs)", "ratio", "target", "status",
    ]  # fmt: skip
    lines = [
        "# Benchmark results",
        "",
        f"Written by `make bench` (`python -m bench.run`) on {started:%Y-%m-%d %H:%M} UTC at "
        f"commit {git_commit()}. The benchmarks took {total_s / 60:.1f} min; building or "
        f"refreshing the cached data took {build_s:.0f} s more in this run (see *Data* for the "
        "first-run cost). Machines here are shared and noisy: compare the **ratios** to the "
        "baselines, which ran on the same server or in the same run.",
        "",
        "## Machine",
        "",
        *machine,
        f"- Load average at start / end: {load}; during the run {cpu}.",
        "",
        "## Summary",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    for section in sections:
        for result in section.results:
            cells = [c.replace("|", "/").replace("\n", " ") for c in result.cells()]
            lines.append("| " + " | ".join(cells) + " |")
    missed = [(s, r) for s in sections for r in s.results if r.met is False]
    missing = [(s, r) for s in sections for r in s.results if r.missing]
    lines += [
        "",
        "Ratio = median of the runs / median of the baseline's runs. Times are wall-clock; "
        "memory is the peak resident set size of the largest process (`wait4` in a small "
        "launcher, `bench/peak_rss.py`, so the benchmark process's own size never counts).",
        "",
        "## Targets missed",
        "",
    ]
    if not missed and not missing:
        lines.append("None.")
    for section, result in missed:
        lines.append(
            f"- {result.benchmark}, {result.measure}: target {result.target}; what bounds it is "
            f"measured under *{section.title}* below."
        )
    for _section, result in missing:
        lines.append(f"- {result.benchmark}: {result.missing_text}.")
    lines += ["", "## Details", ""]
    for section in sections:
        lines += [f"### {section.title} ({section.seconds:.0f} s)", "", *section.notes]
    lines += ["## Data", "", *data_lines, ""]
    for title, kept in EMBEDDED:
        if kept.exists():
            lines += [f"## {title}", "", *embedded_lines(kept), ""]
    path.write_text("\n".join(lines).rstrip() + "\n", encoding="utf-8")


def data_description(data: object, build_s: float) -> list[str]:
    from bench.bench_data import PARAMS

    big, small = PARAMS["org_100k"], PARAMS["teams_200"]
    build = "; ".join(f"{step} {seconds:.1f} s" for step, seconds in data.build_log.items())
    now = ", ".join(data.rebuilt_now) if data.rebuilt_now else "nothing (all cached)"
    return [
        f"- Organization `{data.org}`: round `{data.round_100k}`, {big['n_respondents']:,} "
        f"respondents in {big['teams']:,} teams, and (separate database) round "
        f"`{data.round_200}`, {small['n_respondents']:,} respondents in {small['teams']} teams; "
        "simulated by `analytics.synthetic.simulate_responses` (DEFAULT_PROFILES, default "
        f"instrument, seeds {big['random_state']} / {small['random_state']}), written to CSV "
        "and stored with `negoscope import-responses`.",
        f"- Cached under `bench/.data/` (ignored by git); built {data.built_at}. Built in this "
        f"run: {now} ({build_s:.0f} s). Build steps when last built (first-run cost): {build}.",
    ]


# --------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="most runs per measurement (3)")
    parser.add_argument("--only", help=f"comma-separated subset of: {', '.join(BENCHMARKS)}")
    parser.add_argument("--quick", action="store_true", help="one short run each (smoke test)")
    parser.add_argument("--no-postgres", action="store_true", help="skip the PostgreSQL rows")
    parser.add_argument(
        "--out", type=Path, default=RESULTS_PATH, help="where to write (bench/RESULTS.md)"
    )
    args = parser.parse_args(argv)
    chosen = args.only.split(",") if args.only else list(BENCHMARKS)
    unknown = sorted(set(chosen) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; choose from {BENCHMARKS}")
    args.chosen = [name for name in BENCHMARKS if name in chosen]
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up servers on TERM
    started_at = datetime.now(UTC)
    started = time.monotonic()
    meter = CpuMeter()
    load_start = os.getloadavg()
    ctx = Context(
        runs=1 if args.quick else args.runs,
        budget_scale=0.25 if args.quick else 1.0,
        postgres=not args.no_postgres,
        log=log,
    )
    log("Measuring the disk's fsync rate ...")
    ctx.fsync_per_s = fsync_rate(DATA_DIR)
    machine = machine_lines(ctx.fsync_per_s)

    from bench import bench_data

    build_started = time.monotonic()
    ctx.data = bench_data.build(ctx)
    build_s = time.monotonic() - build_started
    benchmarks_started = time.monotonic()

    sections: list[Section] = []
    ok = True
    for name in args.chosen:
        log(f"Benchmark: {name}")
        section_started = time.monotonic()
        try:
            if name == "export":
                left = TOTAL_BUDGET_S - (time.monotonic() - benchmarks_started)
                section = export_section(ctx, left)
            else:
                runner: Callable[[Context], Section] = importlib.import_module(
                    f"bench.bench_{name}"
                ).run
                section = runner(ctx)
        except Exception as error:  # one failing benchmark must not hide the others
            ok = False
            log(f"{name} failed: {error!r}")
            section = Section(
                name,
                [Result(name, "-", "", missing=f"failed: {type(error).__name__}: {error}"[:300])],
                ["```", traceback.format_exc()[-3000:], "```", ""],
            )
        section.seconds = time.monotonic() - section_started
        log(f"{name}: {section.seconds:.0f} s")
        sections.append(section)

    total_s = time.monotonic() - benchmarks_started
    load_end = os.getloadavg()
    write_results(
        sections,
        started=started_at,
        total_s=total_s,
        build_s=build_s,
        data_lines=data_description(ctx.data, build_s),
        machine=machine,
        load=f"{load_start[0]:.2f} / {load_end[0]:.2f}",
        cpu=meter.summary(),
        path=args.out,
    )
    log(
        f"Wrote {args.out} in {(time.monotonic() - started) / 60:.1f} min "
        f"(benchmarks {total_s / 60:.1f} min, data {build_s:.0f} s)."
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
