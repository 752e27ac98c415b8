"""`kedro status`: the champion, challenger and pending candidate as the registry holds them.

Reads only the model registry, so the command runs without Spark (``without_spark``) and imports
none of the pipelines.
"""

from __future__ import annotations

from collections.abc import Iterator

from lakehouse_mlops.framework import model_registry as registry

SHOWN_TAGS = (
    "test_roc_auc",
    "test_pr_auc",
    "test_brier",
    "gate.decision",
    "git_commit",
    "window.train_start",
    "window.test_start",
    "window.test_end",
    "run_id",
)


def status_lines(name: str) -> Iterator[str]:
    aliases = registry.aliases(name)
    if not aliases:
        yield f"model '{name}': no champion or challenger yet (run the training pipeline)"
        return
    pending = [registry.PENDING] if registry.PENDING in aliases else []
    for alias in (registry.CHAMPION, registry.CHALLENGER, *pending):
        version = aliases.get(alias)
        yield f"{alias:<10} {name} version {version or '-'}"
        if version is None:
            continue
        tags = registry.version_tags(name, version)
        for key in SHOWN_TAGS:
            if key in tags:
                yield f"    {key:<22} {tags[key]}"
        for key in sorted(k for k in tags if k.startswith(registry.LINEAGE_PREFIX)):
            yield f"    {key:<40} {tags[key]}"
    for move in registry.champion_history(name)[-5:]:
        yield (
            f"history    {move['at']} champion {move['previous'] or '-'} -> {move['version']} "
            f"by {move['by']}: {move['reason']}"
        )
