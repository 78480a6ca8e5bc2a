"""A cell's cost in the kernel grows with its length, never with its square.

The history analyses every executed cell statement by statement; each statement's text is cut
from the cell. Timing is not tested here (``bench/long_cells.py`` times it against IPython
without the extension): the work is counted instead, as the calls Python makes (every function
entered, Python's or a builtin), which is the same on any machine. A cell four times as long
must cost at most about four times as many calls; cutting each statement from the whole
source again made it sixteen.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import shell_project
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

from nbmlops.track.segments import Segments
from nbmlops.track.slice import History

#: Calls of a cell 4x as long over those of the short one; linear work stays under 4 (a
#: cell's fixed costs are paid once), n² work goes to 16.
MOST = 4.5


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return shell_project(tmp_path, monkeypatch, "notebooks/long.ipynb")


def long_cell(lines: int, salt: str = "") -> str:
    """A cell of about ``lines`` lines of a notebook's usual statements (names made unique
    by ``salt``, so no cache of an earlier cell serves it)."""
    blocks = [
        "a{i} = {n}",
        "b{i} = a{i} * 2 + len('café{n}')",
        "items{i} = [a{i}, b{i}]; items{i}.append({n})",
        "if a{i} % 3:\n    c{i} = b{i}\nelse:\n    c{i} = 0",
        "@staticmethod\ndef f{i}(x, k={n}):\n    return x * k + a{i}",
        "total{salt} = total{salt} + len(items{i}) + c{i}",
    ]
    out = [f"total{salt} = 0"]
    count, n = 1, 0
    while count < lines:
        block = blocks[n % len(blocks)].format(i=f"{salt}_{n // len(blocks)}", n=n, salt=salt)
        out.append(block)
        count += block.count("\n") + 1
        n += 1
    return "\n".join(out) + "\n"


def calls(fn: Callable[[], Any]) -> int:
    """How many functions ``fn`` enters, Python's and builtins (this thread)."""
    count = 0

    def profile(frame: Any, event: str, arg: Any) -> None:
        nonlocal count
        if event in ("call", "c_call"):
            count += 1

    sys.setprofile(profile)
    try:
        fn()
    finally:
        sys.setprofile(None)
    return count


def growth(run: Callable[[str], Any], short: int = 150) -> float:
    """Calls for a cell of 4x ``short`` lines over those for ``short`` lines."""
    run(long_cell(20, "warm"))  # first-use costs (imports, caches) out of the way
    small = calls(lambda: run(long_cell(short, "s")))
    large = calls(lambda: run(long_cell(4 * short, "l")))
    return large / small


# -- the history alone ---------------------------------------------------------------------------


def analysed(history: History, code: str, **how: Any) -> None:
    history.add(code, **how)
    assert history.statements  # reading the history analyses what ran since


def test_the_history_of_a_cell_costs_linear_work() -> None:
    history = History()
    ratio = growth(lambda code: analysed(history, code))
    assert ratio < MOST, f"a cell 4x as long cost {ratio:.1f}x the calls"


def test_each_statement_is_cut_as_it_was_written() -> None:
    # Positions are lines and UTF-8 byte columns as the parser counts them: \r\n and \r end
    # lines, a form feed does not; several statements may share a line.
    code = (
        "x = 'é'; y = x * 2\r\n"
        "z = ('ü',\r\n"
        "     'ß')\r"
        "\x0cw = 1; v = '∑'; u = w\n"
        "@decorate(\n"
        "    'ï')\n"
        "@other\n"
        "def f(a='ö'):\n"
        "    return a\n"
        "class C: pass\n"
        "get_ipython().run_cell_magic('time', '', \"s = 'ê'\\nt = s\\n\")\n"
        "last = f(); end = 'ñ'"
    )
    history = History()
    history.add(code)
    assert [s.source for s in history.statements] == [
        "x = 'é'", "y = x * 2", "z = ('ü',\r\n     'ß')", "w = 1", "v = '∑'", "u = w",
        "@decorate(\n    'ï')\n@other\ndef f(a='ö'):\n    return a", "class C: pass",
        "s = 'ê'", "t = s", "last = f()", "end = 'ñ'",
    ]


def test_a_long_cell_is_cut_as_ast_cuts_it() -> None:
    code = long_cell(120, "é")
    tree = ast.parse(code)
    segments = Segments(code)
    for node in ast.walk(tree):
        if isinstance(node, ast.stmt | ast.expr):
            assert segments.of(node) == ast.get_source_segment(code, node), ast.dump(node)
    history = History()
    history.add(code)
    assert [s.source for s in history.statements] == [segments.statement(n) for n in tree.body]


def test_a_failed_long_cell_keeps_what_ran_in_linear_work() -> None:
    history = History()
    ratio = growth(lambda code: analysed(
        history, code, failed=True, stopped_at=code.count("\n") - 1))
    assert ratio < MOST, f"a failed cell 4x as long cost {ratio:.1f}x the calls"


# -- the kernel, extension loaded ----------------------------------------------------------------


def run(ip: InteractiveShell, code: str) -> None:
    with capture_output():
        result = ip.run_cell(code, store_history=True)
    assert result.success, result.error_in_exec or result.error_before_exec


def test_an_untracked_long_cell_costs_the_kernel_linear_work(ip: InteractiveShell) -> None:
    history = ip.magics_manager.registry["TrackMagics"].tracker.history

    def then_analysed(code: str) -> None:  # its analysis included, whenever it is done
        run(ip, code)
        assert history.runs

    ratio = growth(then_analysed)
    assert ratio < MOST, f"an untracked cell 4x as long cost {ratio:.1f}x the calls"
    assert len(history.runs) == 3


def test_an_untracked_cell_costs_what_it_costs_without_the_extension(project: Path) -> None:
    # The same cell, in one shell, before and after %load_ext: what nbmlops adds to a cell
    # it does not track is a few calls, whatever the cell's length.
    InteractiveShell.clear_instance()
    ip = InteractiveShell.instance()
    try:
        run(ip, long_cell(20, "warm"))
        alone = calls(lambda: run(ip, long_cell(600, "alone")))
        ip.run_line_magic("load_ext", "nbmlops")
        run(ip, long_cell(20, "warm2"))
        loaded = calls(lambda: run(ip, long_cell(600, "loaded")))
        history = ip.magics_manager.registry["TrackMagics"].tracker.history
        assert "totalloaded = 0" in history.runs[-1].code  # it is in the history
    finally:
        if ip.history_manager is not None:
            ip.history_manager.end_session()
        InteractiveShell.clear_instance()
    assert loaded / alone < 1.02, f"{loaded} calls with nbmlops loaded, {alone} without"


def test_a_tracked_long_cell_costs_the_kernel_linear_work(ip: InteractiveShell) -> None:
    history = ip.magics_manager.registry["TrackMagics"].tracker.history

    def then_analysed(code: str) -> None:
        run(ip, f"%%track long{len(code)}\n{code}")
        assert history.runs

    ratio = growth(then_analysed)
    assert ratio < MOST, f"a tracked cell 4x as long cost {ratio:.1f}x the calls"
