"""Shared helpers of the benchmarks: the Spark conf, load average, and a memory sampler.

The machine is shared (other engineers' Spark jobs run on the same cores), so every figure is
printed with the 1-minute load average at the end of its measurement.
"""

from __future__ import annotations

import os
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from kedro.framework.hooks import hook_impl

ROOT = Path(__file__).resolve().parents[1]


def spark_conf(**extra: str) -> dict:
    conf = yaml.safe_load((ROOT / "conf/base/spark.yml").read_text())
    conf.update(yaml.safe_load((ROOT / "conf/local/spark.yml").read_text()))
    conf.update(extra)
    return conf


def load() -> str:
    """The 1/5/15-minute load averages, e.g. '2.31/2.10/1.98'."""
    return "/".join(f"{v:.2f}" for v in os.getloadavg())


def _rss_kib(pid: int, key: str = "VmRSS") -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return 0


def _children() -> dict[int, list[tuple[int, str]]]:
    """ppid → [(pid, command name)] of every process."""
    tree: dict[int, list[tuple[int, str]]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        tree.setdefault(ppid, []).append((int(entry.name), name))
    return tree


def descendants(pid: int) -> list[tuple[int, str]]:
    tree, found, todo = _children(), [], [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            found.append(child)
            todo.append(child[0])
    return found


@dataclass
class Peak:
    driver_python: int = 0  # KiB, this process
    jvm: int = 0  # KiB, the local-mode JVM (driver and executors in one process)
    workers: int = 0  # KiB, sum over the Python workers alive at the same time
    worker_count: int = 0

    def mib(self) -> tuple[float, float, float]:
        return self.driver_python / 1024, self.jvm / 1024, self.workers / 1024


@dataclass
class MemorySampler:
    """Samples VmRSS of this process, its java child and the Python workers under it; per stage, the
    maximum seen (a sampler thread, every ``interval`` seconds)."""

    interval: float = 0.2
    peaks: dict[str, Peak] = field(default_factory=dict)
    _current: Peak | None = None
    _stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        peak = self._current
        if peak is None:
            return
        peak.driver_python = max(peak.driver_python, _rss_kib(os.getpid()))
        jvm, workers, count = 0, 0, 0
        for pid, name in descendants(os.getpid()):
            if name == "java":
                jvm = max(jvm, _rss_kib(pid))
            elif name.startswith("python"):
                workers += _rss_kib(pid)
                count += 1
        peak.jvm, peak.workers = max(peak.jvm, jvm), max(peak.workers, workers)
        peak.worker_count = max(peak.worker_count, count)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._sample()
            time.sleep(self.interval)

    @contextmanager
    def stage(self, name: str):
        self.peaks[name] = self._current = Peak()
        try:
            yield self.peaks[name]
        finally:
            self._sample()
            self._current = None

    def high_water_marks(self) -> dict[str, int]:
        """VmHWM (lifetime peak RSS, KiB) of this process and its java child."""
        marks = {"driver_python": _rss_kib(os.getpid(), "VmHWM")}
        for pid, name in descendants(os.getpid()):
            if name == "java":
                marks["jvm"] = _rss_kib(pid, "VmHWM")
        return marks

    def close(self) -> None:
        self._stop.set()


def project_parameters() -> dict:
    """The project's parameters as a run sees them (the selected use case's contract included)."""
    from kedro.framework.startup import bootstrap_project

    from lakehouse_mlops.platform.kedro_project import config_loader

    bootstrap_project(ROOT)
    return config_loader(ROOT)["parameters"]


class StageTimer:
    """Kedro hooks that add up wall time and Spark jobs per node and per dataset save/load
    (BENCH_PROFILE=1). The jobs are counted with Spark job groups: each step sets its own group in
    its thread (PySpark pins a Python thread to a JVM thread, so ThreadRunner's nodes keep apart)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        # Keyed by thread too: under the ThreadRunner two nodes may load the same dataset at once.
        self._started: dict[tuple[int, str], float] = {}
        self._round = 0  # job groups are named per round, so a step run again is counted apart

    def clear(self) -> None:
        """Start a new round (e.g. the next cycle): times and job counts from zero."""
        self.seconds.clear()
        self._round += 1

    def _group(self, key: str) -> str:
        return f"bench {self._round}: {key}"

    def _begin(self, key: str) -> None:
        self._started[threading.get_ident(), key] = time.perf_counter()
        _set_job_group(self._group(key))

    def _end(self, key: str) -> None:
        _set_job_group(None)
        started = self._started.pop((threading.get_ident(), key))
        self.seconds[key] = self.seconds.get(key, 0.0) + time.perf_counter() - started

    def jobs(self, key: str) -> int | None:
        """Spark jobs the step started in this round (None without Spark; the status tracker keeps
        the last ``spark.ui.retainedJobs`` jobs, 1,000 by default)."""
        from pyspark import SparkContext

        context = SparkContext._active_spark_context
        if context is None:
            return None
        return len(context.statusTracker().getJobIdsForGroup(self._group(key)))

    @hook_impl
    def before_node_run(self, node):
        self._begin(f"node {node.name}")

    @hook_impl
    def after_node_run(self, node):
        self._end(f"node {node.name}")

    @hook_impl
    def before_dataset_loaded(self, dataset_name):
        self._begin(f"load {dataset_name}")

    @hook_impl
    def after_dataset_loaded(self, dataset_name):
        self._end(f"load {dataset_name}")

    @hook_impl
    def before_dataset_saved(self, dataset_name):
        self._begin(f"save {dataset_name}")

    @hook_impl
    def after_dataset_saved(self, dataset_name):
        self._end(f"save {dataset_name}")

    def report(self, title: str, top: int = 25) -> None:
        print(f"\n{title}: slowest steps (node time excludes its loads and saves), Spark jobs")
        for key, seconds in sorted(self.seconds.items(), key=lambda kv: -kv[1])[:top]:
            print(f"  {key:<50} {seconds:>7.1f} s {self.jobs(key) or 0:>5} jobs")
        counted = {key: self.jobs(key) or 0 for key in self.seconds}
        print(f"{title}: most Spark jobs ({sum(counted.values())} in the steps above and below)")
        for key, jobs in sorted(counted.items(), key=lambda kv: -kv[1])[:top]:
            print(f"  {key:<50} {jobs:>5} jobs {self.seconds[key]:>7.1f} s")


def _set_job_group(group: str | None) -> None:
    """The Spark job group of this thread's next jobs (None: none); nothing before Spark starts."""
    from pyspark import SparkContext

    context = SparkContext._active_spark_context
    if context is None:
        return
    if group is None:
        context.setLocalProperty("spark.jobGroup.id", None)
    else:
        context.setJobGroup(group, group)
