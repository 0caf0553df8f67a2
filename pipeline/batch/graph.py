"""The task graph of one recording, read from the stage table: a stage waits for the stages
that write what it reads. Nothing here knows the stage names; stages added to
``pipeline/stages.py`` join the graph by their ``reads``/``writes``.
"""

from __future__ import annotations

from ..core.stage import Stage


def stage_dependencies(stages: list[Stage]) -> dict[str, list[str]]:
    """For each selected stage (in table order), the selected stages it must wait for.

    A required read waits for its producer. An optional read (``reads_optional``) follows what a
    sequential ``run`` does: if the producer comes earlier in the table it is waited for; if it
    comes later, the producer waits for the reader (the reader must not see it), so the batch
    gives the same bytes as ``run``. Producers outside the selection (``--from``) are already on
    disk, or the runner says which stage to run first.
    """
    order = {stage.name: index for index, stage in enumerate(stages)}
    producer = {stage.writes: stage.name for stage in stages}
    deps: dict[str, list[str]] = {stage.name: [] for stage in stages}
    for stage in stages:
        for artifact in stage.reads:
            source = producer.get(artifact)
            if source is not None and source != stage.name and source not in deps[stage.name]:
                deps[stage.name].append(source)
        for artifact in stage.reads_optional:
            source = producer.get(artifact)
            if source is None or source == stage.name:
                continue
            if order[source] < order[stage.name]:
                if source not in deps[stage.name]:
                    deps[stage.name].append(source)
            elif stage.name not in deps[source]:
                deps[source].append(stage.name)
    return deps


def topological(deps: dict[str, list[str]], table_order: list[str]) -> list[str]:
    """The stages in an order that respects ``deps``, ties broken by the table's order."""
    done: list[str] = []
    remaining = list(table_order)
    while remaining:
        ready = next((name for name in remaining if all(d in done for d in deps[name])), None)
        if ready is None:
            raise ValueError(f"the stage table has a cycle among {', '.join(remaining)}")
        done.append(ready)
        remaining.remove(ready)
    return done
