"""Spark jobs of one ingestion run (issue 18): the fixed cost per run, per feed and per table that the
job count shows and the wall time hides (a job costs 0.25–0.4 s on 2 cores however small its data).

On the small lakehouse of the tests (United flights from EWR), in a sandbox, in one process:

1. January 2013 landed and ingested (every feed new, every table created);
2. February landed and ingested (three feeds with a new file: flights, weather, outcomes; the
   reference feeds idle);
3. the ingestion run again with nothing new.

Prints the Spark jobs started by each run (the scheduler's next job id before and after) and its wall
seconds with the 1-minute load (the machine is shared; job counts do not depend on load).
``BENCH_CODE=<folder>`` runs another checkout's ``src`` (e.g. the commit before a change) on the same
steps: set ``PYTHONPATH=<folder>/src`` and it is printed which code ran. ``BENCH_PROFILE=1`` also prints
the Spark jobs per node and per dataset load/save of each run. Never asserts on time.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

from benchlib import ROOT, StageTimer

sys.path.insert(0, str(ROOT))  # tests.small_lakehouse, tests.conftest
os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "1")
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")


RUNS = [("2013-01 (all new)", "2013-01"), ("2013-02 (3 feeds)", "2013-02"), ("again (nothing new)", None)]


def next_job_id() -> int:
    from pyspark.sql import SparkSession

    session = SparkSession.getActiveSession()
    return session.sparkContext._jsc.sc().dagScheduler().nextJobId() if session else 0


def profile_sessions(timer: StageTimer) -> None:
    """Every Kedro session of this process counts its jobs per step with ``timer``."""
    from kedro.framework.session import KedroSession

    create = KedroSession.create.__func__

    def profiled(cls, *args, **kwargs):
        session = create(cls, *args, **kwargs)
        session._hook_manager.register(timer)
        return session

    KedroSession.create = classmethod(profiled)


def main() -> None:
    from tests.conftest import make_project, run_pipeline
    from tests.small_lakehouse import land_small_month

    import lakehouse_mlops

    print(f"code: {Path(lakehouse_mlops.__file__).parent}")
    timer = StageTimer() if os.environ.get("BENCH_PROFILE") == "1" else None
    if timer:
        profile_sessions(timer)
    project = make_project(Path(tempfile.mkdtemp(prefix="bench_ingestion_jobs_")))
    print(f"{'run':<22} {'Spark jobs':>10} {'wall s':>7} {'load 1m':>8}")
    for label, month in RUNS:
        if month:
            land_small_month(month, project / "data" / "01_landing")
        jobs, started = next_job_id(), time.perf_counter()
        run_pipeline(project, "ingestion")
        seconds, jobs = time.perf_counter() - started, next_job_id() - jobs
        print(f"{label:<22} {jobs:>10} {seconds:>7.1f} {os.getloadavg()[0]:>8.1f}", flush=True)
        if timer:
            timer.report(label, top=40)
            timer.clear()


if __name__ == "__main__":
    main()
