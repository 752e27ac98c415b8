"""The ingestion pipeline, one branch per feed of the use case's rules; a feed is validated after
the silver tables its ``references:`` read (the graph comes from the rules, nothing is kept by hand)."""

from __future__ import annotations

from functools import partial, update_wrapper
from graphlib import CycleError, TopologicalSorter

from kedro.pipeline import Node, Pipeline, node

from lakehouse_mlops.framework.errors import ConfigError
from lakehouse_mlops.pipelines.ingestion import nodes
from lakehouse_mlops.pipelines.ingestion.rules import SOURCE, IngestionRules


def feed_graph(rules: IngestionRules) -> dict[str, tuple[str, ...]]:
    """Every feed (references first) → the feeds whose silver tables its referential checks read."""
    graph = {name: tuple(sorted(feed.referenced_feeds)) for name, feed in rules.feeds.items()}
    for name, references in graph.items():
        unknown = [r for r in references if r not in graph]
        if unknown:
            raise ConfigError(
                f"{SOURCE}: feeds.{name} references {unknown}, which are not feeds (known: {sorted(graph)})"
            )
    try:
        order = list(TopologicalSorter(graph).static_order())
    except CycleError as exc:
        raise ConfigError(f"{SOURCE}: the feeds reference each other in a cycle: {exc.args[1]}") from exc
    return {name: graph[name] for name in order}


def _named(func, **kwargs):
    bound = partial(func, **kwargs)
    update_wrapper(bound, func)
    return bound


def _feed_nodes(feed: str, referenced: tuple[str, ...]) -> list[Node]:
    references = {ref: f"silver_{ref}" for ref in referenced}
    return [
        node(
            _named(nodes.land_files_to_bronze, feed_name=feed),
            inputs={
                "landing": f"landing_{feed}",
                "bronze_state": f"bronze_{feed}_state",
                "settled_files": "ingestion_settled_files",
                "ingestion": "params:ingestion",
                "usecase": "params:usecase",
            },
            outputs=[f"bronze_{feed}", f"file_reports_{feed}"],
            name=f"land_{feed}_to_bronze",
            tags=["bronze", feed],
        ),
        node(
            _named(nodes.validate_batches, feed_name=feed),
            inputs={
                "bronze_table": f"bronze_{feed}",
                "file_reports": f"file_reports_{feed}",
                "audited_batches": "ingestion_audited_batches",
                "ingestion": "params:ingestion",
                **references,
            },
            outputs=[f"silver_{feed}", f"quarantine_{feed}", f"disposition_counts_{feed}"],
            name=f"validate_{feed}_into_silver",
            tags=["silver", feed],
        ),
    ]


def create_pipeline(rules: IngestionRules, **kwargs) -> Pipeline:
    graph = feed_graph(rules)
    feeds = tuple(graph)
    per_feed = [n for feed, referenced in graph.items() for n in _feed_nodes(feed, referenced)]
    return Pipeline(
        [
            # the file log and the audit as they were before this run, read once for every feed
            node(
                nodes.read_settled_files,
                inputs="ingestion_file_log_state",
                outputs="ingestion_settled_files",
                name="read_settled_files",
                tags=["bronze"],
            ),
            node(
                nodes.read_audited_batches,
                inputs="ingestion_audit_state",
                outputs="ingestion_audited_batches",
                name="read_audited_batches",
                tags=["silver"],
            ),
            *per_feed,
            node(
                nodes.collect_quarantine,
                inputs=[f"quarantine_{f}" for f in feeds],
                outputs="silver_quarantine",
                name="collect_quarantine",
                tags=["silver"],
            ),
            node(
                _named(nodes.audit_ingestion, feeds=feeds),
                inputs=[
                    "silver_quarantine",
                    *[f"disposition_counts_{f}" for f in feeds],
                    *[f"bronze_{f}" for f in feeds],
                    *[f"silver_{f}" for f in feeds],
                ],
                outputs="ingestion_audit_rows",
                name="audit_ingestion",
                tags=["audit"],
            ),
            node(
                nodes.record_ingestion,
                inputs=["ingestion_audit_rows", *[f"file_reports_{f}" for f in feeds]],
                outputs=["ingestion_audit", "ingestion_file_log", "ingestion_summary"],
                name="record_ingestion",
                tags=["audit"],
            ),
            node(
                nodes.enforce_nothing_lost,
                inputs="ingestion_summary",
                outputs=None,
                name="enforce_nothing_lost",
                tags=["audit"],
            ),
        ],
        tags="ingestion",
    )
