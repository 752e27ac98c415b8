"""Build the Delta-enabled SparkSession from the ``spark`` config of the project."""

from __future__ import annotations

import contextvars
import json
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from delta import configure_spark_with_delta_pip
from pyspark.errors import PySparkRuntimeError
from pyspark.sql import SparkSession

from lakehouse_mlops.framework.errors import SparkStartupError

logger = logging.getLogger(__name__)

MIN_JAVA_MAJOR = 17
JARS_STAMP = Path.home() / ".cache" / "lakehouse-mlops" / "delta-jars.json"
#: False inside ``without_spark()``: the session's hook leaves Spark alone
_SPARK_WANTED = contextvars.ContextVar("spark_wanted", default=True)


@contextmanager
def without_spark() -> Iterator[None]:
    """Kedro sessions created inside do not start Spark: for commands that only read the model
    registry (``kedro status``), where the JVM's start-up would be nearly all of their time."""
    token = _SPARK_WANTED.set(False)
    try:
        yield
    finally:
        _SPARK_WANTED.reset(token)


def spark_wanted() -> bool:
    return _SPARK_WANTED.get()


def delta_maven_coordinates() -> str:
    """The Maven coordinates of the Delta JAR that matches the installed delta-spark and pyspark."""
    builder = configure_spark_with_delta_pip(SparkSession.builder)
    return builder._options["spark.jars.packages"]  # noqa: SLF001 - only public way to read it


def cached_delta_jars() -> list[str] | None:
    """The JAR files Spark resolved for the installed Delta version, when all are still cached."""
    try:
        stamp = json.loads(JARS_STAMP.read_text())
    except (OSError, ValueError):
        return None
    jars = [j.removeprefix("file://").removeprefix("file:") for j in stamp.get("jars", []) if j]
    if stamp.get("packages") != delta_maven_coordinates() or not jars:
        return None
    return jars if all(Path(j).exists() for j in jars) else None


def remember_delta_jars(jars: list[str]) -> None:
    JARS_STAMP.parent.mkdir(parents=True, exist_ok=True)
    JARS_STAMP.write_text(json.dumps({"packages": delta_maven_coordinates(), "jars": jars}))


def java_major_version() -> int | None:
    """Major version of the ``java`` on PATH (or JAVA_HOME), or None when there is none."""
    java_home = os.environ.get("JAVA_HOME")
    java = os.path.join(java_home, "bin", "java") if java_home else shutil.which("java")
    if not java or not os.path.exists(java):
        return None
    out = subprocess.run([java, "-version"], capture_output=True, text=True, check=False).stderr
    for token in out.split():
        token = token.strip('"')
        if token[:1].isdigit():
            head = token.split(".")[0]
            return int(head) if head.isdigit() else None
    return None


def _startup_hint() -> str:
    java = java_major_version()
    if java is None or java < MIN_JAVA_MAJOR:
        return (
            f"Java {MIN_JAVA_MAJOR}+ is required (found: {java or 'none'}). Install it, e.g. "
            "`apt-get install -y openjdk-17-jre-headless`, or set JAVA_HOME to a JDK 17+."
        )
    coords = delta_maven_coordinates()
    return (
        f"Spark could not resolve the Delta Lake JARs ({coords}) through its package resolver. "
        "Look for 'UNRESOLVED DEPENDENCIES' above. Run `make jars`, which fetches them with "
        "`mvn dependency:get -Dartifact=<coordinates>` into ~/.m2/repository (Spark looks there "
        "first), or make Maven Central reachable and retry."
    )


def build_spark_session(spark_conf: Mapping[str, object], use_cached_jars: bool = True) -> SparkSession:
    """Create (or return) the SparkSession with Delta configured from ``spark_conf``.

    The Delta JARs come from Spark's package resolver (``spark.jars.packages``); once resolved at
    setup (``python -m lakehouse_mlops.platform.jars``) the cached files are passed as ``spark.jars``.

    Raises:
        SparkStartupError: Java or the Delta JARs are missing; the message says how to fix it.
    """
    # Python workers (UDFs, SparkTrials) run this interpreter unless the env or conf says otherwise,
    # so they can import the project; cluster envs set spark.pyspark.python for their workers.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder
    for key, value in spark_conf.items():
        builder = builder.config(key, _as_conf_value(value))
    cached = cached_delta_jars() if use_cached_jars else None
    if cached:
        builder = builder.config("spark.jars", ",".join(cached))
    else:
        builder = configure_spark_with_delta_pip(builder)
    try:
        spark = builder.getOrCreate()
    except PySparkRuntimeError as exc:
        raise SparkStartupError(f"Spark did not start: {exc}. {_startup_hint()}") from exc
    spark.sparkContext.setLogLevel("WARN")
    return spark


def _as_conf_value(value: object) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return "".join(str(value).split()) if isinstance(value, str) and "," in value else str(value)
