"""Cost of each notebook as a user pays it: wall time and peak resident memory of
``python -m nbutils run NOTEBOOK``, with an empty run cache (cold) and again with the
cache that run filled (warm).

Each run is a fresh child process (``sys.executable -m nbutils run NB --out --build``,
``NBUTILS_CACHE`` set). Figures and executed notebooks go to a temporary folder unless
``--out`` is given; the repository's ``figures/`` is never written.

Peak RSS: papermill executes the notebook in a kernel, a child of the runner, so the
notebook's memory is the kernel's, not the runner's. The table reports the largest
peak resident set of any process of the run's tree, taken from ``os.wait4`` on the
runner: Linux returns the runner's own ``ru_maxrss`` maxed with that of every
descendant it reaped (jupyter_client waits for the kernel it shut down), and it does
so per child, so one notebook's peak never leaks into the next row (plain
``getrusage(RUSAGE_CHILDREN)`` is a running maximum over all children so far). It
is exact (the kernel's own high-water mark, not a sample), but it misses a kernel
that is never reaped by the runner (killed with it, or orphaned). So a sampler also
reads each process's ``VmHWM`` from ``/proc`` every 0.2 s while the run lasts; a
row whose sampled kernel peak exceeds the ``wait4`` figure (the kernel escaped it)
is flagged, and ``--check`` prints both, with the peak of the whole tree's summed RSS.
Peak RSS is of one process (the kernel); the runner adds its own few hundred MB.

    python benchmarks/notebook_cost.py [--only 00 01 ...] [--smoke] [--cold|--warm|--both]
                                       [--cache DIR] [--out DIR] [-p KEY VALUE] [--check]
                                       [--timeout SECONDS] [--json FILE]

``--warm`` alone measures one run with ``--cache DIR`` (a cache already filled) or,
without it, in a temporary cache filled by an unmeasured first run. Linux only.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from nbutils.reproduce import catalog  # noqa: E402


@dataclass
class Cost:
    notebook: str
    mode: str  # cold or warm
    wall_s: float
    peak_rss_mb: float  # os.wait4: max ru_maxrss over the runner and the children it reaped
    sampled_kernel_hwm_mb: float  # VmHWM of the kernel, sampled from /proc
    sampled_tree_rss_mb: float  # the largest sum of RSS over the tree, sampled
    returncode: int
    timed_out: bool = False

    @property
    def escaped(self) -> bool:
        """The sampler saw the kernel above what wait4 reported: it was not reaped."""
        return self.sampled_kernel_hwm_mb > self.peak_rss_mb * 1.02

    @property
    def note(self) -> str:
        if self.timed_out:
            return " (timed out)"
        if self.returncode:
            return " (failed)"
        return " (kernel not reaped)" if self.escaped else ""


def _hwm_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class TreeSampler(threading.Thread):
    """Samples the runner's process tree: the kernel's VmHWM and the tree's summed RSS."""

    def __init__(self, pid: int, every: float = 0.2):
        super().__init__(daemon=True)
        self.root, self.every = psutil.Process(pid), every
        self.kernel_hwm = self.tree_rss = 0.0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            try:
                procs = [self.root, *self.root.children(recursive=True)]
            except psutil.Error:
                break
            total = 0.0
            for p in procs:
                try:
                    total += p.memory_info().rss / 2**20
                    if any("ipykernel" in part for part in p.cmdline()):
                        self.kernel_hwm = max(self.kernel_hwm, _hwm_mb(p.pid))
                except psutil.Error:
                    continue
            self.tree_rss = max(self.tree_rss, total)
            self.done.wait(self.every)


def run_once(stem: str, mode: str, cache: Path, out: Path, args) -> Cost:
    """One ``python -m nbutils run`` in a fresh process; its wall time and peak RSS."""
    cmd = [sys.executable, "-m", "nbutils", "run", stem, "--out", str(out / "figures")]
    cmd += ["--build", str(out / "build")]
    cmd += ["--smoke"] if args.smoke else []
    for key, value in args.param:
        cmd += ["-p", key, value]
    env = {**os.environ, "NBUTILS_CACHE": str(cache)}
    log = out / f"{stem}-{mode}.log"
    start = time.perf_counter()
    with open(log, "w") as sink:
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=sink, stderr=subprocess.STDOUT)
        sampler = TreeSampler(proc.pid)
        sampler.start()
        timed_out = False
        while True:  # wait4: this child's tree only, not a running max over all children
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if not timed_out and args.timeout and time.perf_counter() - start > args.timeout:
                timed_out = True  # a hung kernel (seen once, idle in an ipywidgets cell)
                _stop_tree(proc.pid)
            time.sleep(0.2)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        sampler.done.set()
        sampler.join()
    if timed_out:
        print(f"{stem} ({mode}) stopped after {args.timeout} s", file=sys.stderr)
    elif proc.returncode:
        tail = log.read_text().splitlines()[-15:]
        print(f"{stem} ({mode}) failed ({proc.returncode}):", *tail, sep="\n  ", file=sys.stderr)
    return Cost(
        stem,
        mode,
        round(wall, 1),
        round(usage.ru_maxrss / 1024, 1),  # KiB on Linux
        round(sampler.kernel_hwm, 1),
        round(sampler.tree_rss, 1),
        proc.returncode,
        timed_out,
    )


def _stop_tree(pid: int) -> None:
    """Stop a run: its descendants (the kernel) first, then the runner, which
    ``run_once`` reaps itself (psutil must not wait on it: that would reap it)."""
    try:
        root = psutil.Process(pid)
        below = root.children(recursive=True)
    except psutil.Error:
        return
    for p in below:
        try:
            p.terminate()
        except psutil.Error:
            pass
    for p in psutil.wait_procs(below, timeout=10)[1]:
        try:
            p.kill()
        except psutil.Error:
            pass
    try:
        root.kill()
    except psutil.Error:
        pass


def measure(stem: str, args, out: Path) -> list[Cost]:
    costs = []
    with tempfile.TemporaryDirectory(prefix="nbcost-cache-") as tmp:
        cache = Path(tmp)
        if args.mode in ("cold", "both"):
            costs.append(run_once(stem, "cold", cache, out, args))
        if args.mode in ("warm", "both"):
            if args.mode == "warm":
                if args.cache:
                    cache = Path(args.cache)
                else:
                    run_once(stem, "fill", cache, out, args)  # unmeasured: fills the cache
            costs.append(run_once(stem, "warm", cache, out, args))
    return costs


def gb(mb: float) -> str:
    return f"{mb / 1024:.2f} GB"


def table(costs: list[Cost]) -> str:
    rows = ["| notebook | peak RSS cold | wall cold | peak RSS warm | wall warm |"]
    rows.append("|---|---:|---:|---:|---:|")
    for stem in dict.fromkeys(c.notebook for c in costs):
        cells = []
        for mode in ("cold", "warm"):
            c = next((c for c in costs if c.notebook == stem and c.mode == mode), None)
            if c is None:
                cells += ["-", "-"]
                continue
            cells += [gb(c.peak_rss_mb) + c.note, f"{c.wall_s:.0f} s"]
        rows.append(f"| {stem} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def check_table(costs: list[Cost]) -> str:
    rows = ["| notebook | run | wait4 peak | sampled kernel VmHWM | sampled tree RSS (sum) |"]
    rows.append("|---|---|---:|---:|---:|")
    for c in costs:
        rows.append(
            f"| {c.notebook} | {c.mode} | {c.peak_rss_mb:.0f} MB | "
            f"{c.sampled_kernel_hwm_mb:.0f} MB | {c.sampled_tree_rss_mb:.0f} MB |"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", nargs="+", help="notebooks (stem or number); default all")
    parser.add_argument("--smoke", action="store_true", help="run the notebooks at smoke size")
    modes = parser.add_mutually_exclusive_group()
    for mode in ("cold", "warm", "both"):
        modes.add_argument(f"--{mode}", dest="mode", action="store_const", const=mode)
    parser.set_defaults(mode="both")
    parser.add_argument("--cache", help="with --warm: an already filled cache to measure with")
    parser.add_argument("--out", help="folder for figures, executed notebooks and logs")
    parser.add_argument("-p", "--param", nargs=2, action="append", default=[], metavar=("K", "V"))
    parser.add_argument("--check", action="store_true", help="also print the sampled peaks")
    parser.add_argument(
        "--timeout", type=float, default=3600, help="seconds before a run is stopped (0: never)"
    )
    parser.add_argument("--json", help="write the measurements to this file")
    args = parser.parse_args(argv)
    if args.cache and args.mode != "warm":
        parser.error("--cache goes with --warm (cold runs start from an empty cache)")
    stems = [catalog.entry(n).stem for n in args.only] if args.only else list(catalog.NOTEBOOKS)

    with tempfile.TemporaryDirectory(prefix="nbcost-out-") as tmp:
        out = Path(args.out).resolve() if args.out else Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        costs = []
        for stem in stems:
            for c in measure(stem, args, out):
                costs.append(c)
                print(
                    f"{c.notebook} {c.mode}: {c.wall_s:.0f} s, peak RSS {c.peak_rss_mb:.0f} MB "
                    f"(sampled kernel {c.sampled_kernel_hwm_mb:.0f} MB)",
                    file=sys.stderr,
                    flush=True,
                )
    size = "smoke" if args.smoke else "default size"
    params = " ".join(f"-p {k} {v}" for k, v in args.param)
    print(f"\nNotebook cost ({size}{', ' + params if params else ''}; peak RSS of the kernel):\n")
    print(table(costs))
    if args.check:
        print("\n" + check_table(costs))
    if args.json:
        Path(args.json).write_text(json.dumps([asdict(c) for c in costs], indent=1))
    return 1 if any(c.returncode for c in costs) else 0


if __name__ == "__main__":
    sys.exit(main())
