"""Ingestion: landing files → bronze (raw, once per file) → silver (typed, validated, de-duplicated
by MERGE) + quarantine (raw row + every failed rule), with the nothing-lost audit per feed and batch.

Run it with ``kedro run --pipelines ingestion --runner ThreadRunner`` (the feeds are independent
branches; the project's commands use the ThreadRunner for it). The feeds and their rules are the use
case's (``conf/base/usecases/<name>/parameters_ingestion.yml``, its silver tables in its
``catalog.yml``); bronze, quarantine, audit and file log are in ``conf/base/catalog_ingestion.yml``.
"""

from lakehouse_mlops.pipelines.ingestion.pipeline import create_pipeline

__all__ = ["create_pipeline"]
