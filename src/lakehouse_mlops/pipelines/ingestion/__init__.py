"""Ingestion: landing files → bronze (raw, once per file) → silver (typed, validated, de-duplicated
by MERGE) + quarantine (raw row + every failed rule), with the nothing-lost audit per feed and batch.

Run it with ``kedro run --pipelines ingestion --runner ThreadRunner`` (the feeds are independent
branches; the project's commands use the ThreadRunner for it). Rules live in
``conf/base/parameters_ingestion.yml``; tables and their semantics in ``conf/base/catalog_ingestion.yml``.
"""

from lakehouse_mlops.pipelines.ingestion.pipeline import create_pipeline

__all__ = ["create_pipeline"]
