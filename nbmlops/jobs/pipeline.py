"""The graph of a pipeline: which step needs which, and the order they run in.

Pure: steps come in as the files they read and write (absolute paths, with fingerprints when
a tracked run recorded them), edges go out with the reason each exists. No notebook, no
MLflow, no file system: exporting gathers the facts (:mod:`nbmlops.jobs.export.dataflow`,
:mod:`nbmlops.jobs.export.pipeline`), :mod:`nbmlops.jobs.run.pipeline` runs the steps.

A step needs another when it reads a path the other writes, a file inside a folder the other
writes, or a folder holding a file the other writes; or when it read content (a fingerprint)
the other wrote under another name. Steps that share nothing have no edge and may run side by
side; the order given breaks every tie, so a pipeline of unrelated notebooks runs as listed.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from nbmlops.exceptions import PipelineError


@dataclass(frozen=True)
class Access:
    """One file or folder a step reads or writes."""

    path: str  # absolute, normalised
    why: str  # where it was seen: "code: to_parquet in cell 3", "tracked run 1a2b3c4d"
    digest: str | None = None  # the fingerprint a tracked run recorded


@dataclass
class StepData:
    name: str
    reads: list[Access] = field(default_factory=list)
    writes: list[Access] = field(default_factory=list)


@dataclass(frozen=True)
class Edge:
    step: str
    needs: str
    reason: str

    def __str__(self) -> str:
        return f"{self.needs} -> {self.step}: {self.reason}"


def covers(outer: str, inner: str) -> bool:
    """``inner`` is ``outer`` or lies below it."""
    return inner == outer or inner.startswith(outer.rstrip("/") + "/")


def _overlap(a: str, b: str) -> bool:
    return covers(a, b) or covers(b, a)


def check_writers(steps: Sequence[StepData], shown: Mapping[str, str] | None = None) -> None:
    """PipelineError when two steps write the same path (or one writes inside a folder the
    other writes): which of them a reader needs would be a guess."""
    names = shown or {}
    for i, a in enumerate(steps):
        for b in steps[i + 1:]:
            for wa in a.writes:
                for wb in b.writes:
                    if _overlap(wa.path, wb.path):
                        path = names.get(wa.path, wa.path)
                        raise PipelineError(
                            f"steps {a.name} and {b.name} both write {path} ({wa.why}; "
                            f"{wb.why}): a step reading it could need either; make one of "
                            "them write another path, or export them as separate jobs")


def infer(steps: Sequence[StepData], shown: Mapping[str, str] | None = None) -> list[Edge]:
    """The edges the data implies, in step order, one per (step, needed step).

    ``shown`` maps absolute paths to how the reasons name them (relative to the project).
    A step's reads of what it writes itself are its own business and make no edge.
    """
    names = shown or {}
    check_writers(steps, names)
    edges: list[Edge] = []
    for reader in steps:
        found: dict[str, str] = {}
        for writer in steps:
            if writer is reader:
                continue
            for r in reader.reads:
                if any(_overlap(w.path, r.path) for w in reader.writes):
                    continue  # the reader writes it too: not its input
                reason = _reason(r, writer, names)
                if reason and writer.name not in found:
                    found[writer.name] = reason
        edges += [Edge(reader.name, need, why) for need, why in found.items()]
    return edges


def _reason(read: Access, writer: StepData, names: Mapping[str, str]) -> str | None:
    for w in writer.writes:
        if _overlap(w.path, read.path):
            return (f"reads {names.get(read.path, read.path)} ({read.why}), which "
                    f"{writer.name} writes ({w.why})")
    for w in writer.writes:
        if read.digest and w.digest == read.digest:
            return (f"read content {read.digest[:8]} as {names.get(read.path, read.path)} "
                    f"({read.why}), which {writer.name} wrote to "
                    f"{names.get(w.path, w.path)} ({w.why})")
    return None


def needs_of(names: Sequence[str], edges: Iterable[Edge]) -> dict[str, list[str]]:
    """Each step's needs, in the order the steps are given."""
    rank = {n: i for i, n in enumerate(names)}
    needs: dict[str, set[str]] = {n: set() for n in names}
    for e in edges:
        needs[e.step].add(e.needs)
    return {n: sorted(needs[n], key=rank.__getitem__) for n in names}


def merge(inferred: Mapping[str, Sequence[str]],
          kept: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """Inferred needs plus the ones job.yaml already had (written by hand, or inferred from
    data that has changed since); a kept need of a step that no longer exists is dropped."""
    merged = {}
    for name, needs in inferred.items():
        extra = [n for n in kept.get(name, ()) if n in inferred and n not in needs and n != name]
        merged[name] = [*needs, *extra]
    return merged


def check(names: Sequence[str], needs: Mapping[str, Sequence[str]]) -> None:
    """PipelineError for a need that names no step, or a cycle."""
    known = set(names)
    for step in names:
        for need in needs.get(step, ()):
            if need not in known:
                raise PipelineError(f"step {step} needs {need!r}, which is not a step of the "
                                    f"pipeline (steps: {', '.join(names)})")
            if need == step:
                raise PipelineError(f"step {step} needs itself: remove it from its needs")
    cycle = find_cycle(names, needs)
    if cycle:
        raise PipelineError(
            f"the steps form a cycle: {' -> '.join(cycle)}: a step cannot read what a step "
            "after it writes; make one of them write a new path (or remove the need from "
            "job.yaml if it was added by hand)")


def find_cycle(names: Sequence[str], needs: Mapping[str, Sequence[str]]) -> list[str] | None:
    """One cycle as ``[a, b, ..., a]`` (each needed by the next), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(step: str) -> list[str] | None:
        state[step] = 1
        path.append(step)
        for need in needs.get(step, ()):
            if state.get(need) == 1:
                loop = path[path.index(need):]
                return [*reversed(loop), loop[-1]]
            if need not in state:
                found = visit(need)
                if found:
                    return found
        path.pop()
        state[step] = 2
        return None

    for step in names:
        if step not in state:
            found = visit(step)
            if found:
                return found
    return None


def order(names: Sequence[str], needs: Mapping[str, Sequence[str]]) -> list[str]:
    """The steps in an order that runs every need first; ties keep the given order."""
    check(names, needs)
    rank = {n: i for i, n in enumerate(names)}
    waiting = {n: len(set(needs.get(n, ()))) for n in names}
    users: dict[str, list[str]] = {n: [] for n in names}
    for n in names:
        for need in set(needs.get(n, ())):
            users[need].append(n)
    ready = [rank[n] for n in names if waiting[n] == 0]
    heapq.heapify(ready)
    done: list[str] = []
    while ready:
        step = names[heapq.heappop(ready)]
        done.append(step)
        for user in users[step]:
            waiting[user] -= 1
            if waiting[user] == 0:
                heapq.heappush(ready, rank[user])
    return done


def downstream(needs: Mapping[str, Sequence[str]], start: str) -> set[str]:
    """``start`` and every step that needs it, directly or not."""
    users: dict[str, list[str]] = {}
    for step, its in needs.items():
        for need in its:
            users.setdefault(need, []).append(step)
    found = {start}
    todo = [start]
    while todo:
        for user in users.get(todo.pop(), ()):
            if user not in found:
                found.add(user)
                todo.append(user)
    return found


def describe(names: Sequence[str], needs: Mapping[str, Sequence[str]]) -> list[str]:
    """The graph as lines: ``load -> features -> train`` chains, then lone steps."""
    lines = []
    for step in order(names, needs):
        its = needs.get(step, ())
        lines.append(f"{', '.join(its)} -> {step}" if its else f"{step} (needs nothing)")
    return lines
