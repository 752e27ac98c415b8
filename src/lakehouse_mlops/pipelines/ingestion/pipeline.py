"""The ingestion pipeline, one branch per feed; reference feeds are validated before their users."""

from __future__ import annotations

from functools import partial, update_wrapper

from kedro.pipeline import Node, Pipeline, node

from lakehouse_mlops.pipelines.ingestion import nodes

#: Feeds in landing, and the silver tables each feed's referential checks read.
REFERENCES: dict[str, tuple[str, ...]] = {
    "airlines": (),
    "airports": (),
    "planes": (),
    "weather": ("airports",),
    "flights": ("airlines", "airports"),
    "outcomes": ("flights",),
}
FEEDS = tuple(REFERENCES)


def _named(func, **kwargs):
    bound = partial(func, **kwargs)
    update_wrapper(bound, func)
    return bound


def _feed_nodes(feed: str) -> list[Node]:
    references = {ref: f"silver_{ref}" for ref in REFERENCES[feed]}
    return [
        node(
            _named(nodes.land_files_to_bronze, feed_name=feed),
            inputs={
                "landing": f"landing_{feed}",
                "bronze_state": f"bronze_{feed}_state",
                "ingestion": "params:ingestion",
                "file_suffix": "params:landing_file_suffix",
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
                "audit_state": "ingestion_audit_state",
                "ingestion": "params:ingestion",
                **references,
            },
            outputs=[f"silver_{feed}", f"quarantine_{feed}", f"disposition_counts_{feed}"],
            name=f"validate_{feed}_into_silver",
            tags=["silver", feed],
        ),
    ]


def create_pipeline(**kwargs) -> Pipeline:
    per_feed = [n for feed in FEEDS for n in _feed_nodes(feed)]
    return Pipeline(
        [
            *per_feed,
            node(
                nodes.collect_quarantine,
                inputs=[f"quarantine_{f}" for f in FEEDS],
                outputs="silver_quarantine",
                name="collect_quarantine",
                tags=["silver"],
            ),
            node(
                _named(nodes.audit_ingestion, feeds=FEEDS),
                inputs=[
                    "silver_quarantine",
                    *[f"disposition_counts_{f}" for f in FEEDS],
                    *[f"bronze_{f}" for f in FEEDS],
                    *[f"silver_{f}" for f in FEEDS],
                ],
                outputs="ingestion_audit_rows",
                name="audit_ingestion",
                tags=["audit"],
            ),
            node(
                nodes.record_ingestion,
                inputs=["ingestion_audit_rows", *[f"file_reports_{f}" for f in FEEDS]],
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
