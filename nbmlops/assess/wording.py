"""How lists and counts read in the assessment's messages, shared by the criteria and the red
flags so that both say "a, b, c and 2 more" and "1 run" / "2 runs" alike."""

from __future__ import annotations


def some(items: list[str], n: int = 3) -> str:
    """The first ``n`` of ``items``, and how many more there are."""
    shown = ", ".join(items[:n])
    return shown + (f" and {len(items) - n} more" if len(items) > n else "")


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def tally(items: list[str]) -> str:
    """How often each value occurs, most frequent first: ``"3 hold, 1 retrain"``."""
    counts: dict[str, int] = {}
    for item in items:
        counts[item] = counts.get(item, 0) + 1
    return ", ".join(f"{n} {item}" for item, n in sorted(counts.items(),
                                                          key=lambda kv: (-kv[1], kv[0])))
