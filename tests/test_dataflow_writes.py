"""The files a notebook writes and reads, as :mod:`nbmlops.jobs.export.dataflow` finds them in its
code: every way of writing a file, reads never taken for writes, paths held in names from
cell to cell (pure: source text in, paths out; nothing runs)."""

from __future__ import annotations

import pytest

from nbmlops.jobs.export import dataflow
from nbmlops.jobs.export.dataflow import Found


def accesses(*sources: str) -> list[tuple[str, str, str, int]]:
    return [(f.path, f.mode, f.call, f.cell)
            for f in dataflow.analyze(("code", s) for s in sources)]


@pytest.mark.parametrize(("source", "call"), [
    ("open('out.txt', 'w')", "open(mode='w')"),
    ("open('out.txt', 'a')", "open(mode='a')"),
    ("open('out.txt', 'x')", "open(mode='x')"),
    ("open('out.txt', 'wb')", "open(mode='wb')"),
    ("open('out.txt', 'ab')", "open(mode='ab')"),
    ("open('out.txt', 'xb')", "open(mode='xb')"),
    ("open('out.txt', 'w+')", "open(mode='w+')"),
    ("open('out.txt', 'at', encoding='utf-8')", "open(mode='at')"),
    ("open('out.txt', mode='a')", "open(mode='a')"),
    ("open(file='out.txt', mode='x')", "open(mode='x')"),
    ("with open('out.txt', 'a') as f:\n    f.write('row\\n')", "open(mode='a')"),
    ("io.open('out.txt', 'w')", "open(mode='w')"),
    ("Path('out.txt').open('a')", "open(mode='a')"),
    ("Path('out.txt').open(mode='x')", "open(mode='x')"),
    ("Path('out.txt').write_text('x')", "write_text"),
    ("Path('out.txt').write_text(data='x', encoding='utf-8')", "write_text"),
    ("pathlib.Path('out.txt').write_bytes(b'x')", "write_bytes"),
    ("joblib.dump(model, 'out.txt')", "dump"),
    ("joblib.dump(model, filename='out.txt')", "dump"),
    ("joblib.dump(value=model, filename='out.txt')", "dump"),
    ("pickle.dump(model, open('out.txt', 'wb'))", "open(mode='wb')"),
    ("df.to_csv('out.txt', index=False)", "to_csv"),
    ("df.to_csv(path_or_buf='out.txt')", "to_csv"),
    ("df.to_parquet(path='out.txt')", "to_parquet"),
    ("df.to_parquet('out.txt', engine='pyarrow')", "to_parquet"),
    ("df.to_json(path_or_buf='out.txt', orient='records')", "to_json"),
    ("np.save('out.txt', a)", "save"),
    ("np.save(file='out.txt', arr=a)", "save"),
    ("np.savez_compressed('out.txt', a=a)", "savez_compressed"),
    ("np.savetxt(fname='out.txt', X=a)", "savetxt"),
    ("torch.save(model, 'out.txt')", "save"),
    ("pq.write_table(table, 'out.txt')", "write_table"),
    ("pq.write_table(table, where='out.txt')", "write_table"),
    ("feather.write_feather(df, dest='out.txt')", "write_feather"),
    ("pl_df.write_parquet('out.txt')", "write_parquet"),
])
def test_every_write_form_is_a_write(source: str, call: str) -> None:
    assert accesses(source) == [("out.txt", "write", call, 1)]


def test_a_file_opened_for_update_is_read_and_written() -> None:
    for mode in ("r+", "rb+", "r+b"):
        assert accesses(f"open('db.bin', {mode!r})") == [
            ("db.bin", "write", f"open(mode={mode!r})", 1), ("db.bin", "read", "open", 1)]


@pytest.mark.parametrize(("source", "call"), [
    ("open('in.txt')", "open"),
    ("open('in.txt', 'r')", "open"),
    ("open('in.txt', 'rb')", "open"),
    ("open('in.txt', 'rt', encoding='utf-8')", "open"),
    ("open('in.txt', mode='r')", "open"),
    ("open(file='in.txt')", "open"),
    ("with open('in.txt') as f:\n    rows = f.read()", "open"),
    ("Path('in.txt').open()", "open"),
    ("Path('in.txt').open('rb')", "open"),
    ("Path('in.txt').read_text()", "read_text"),
    ("Path('in.txt').read_bytes()", "read_bytes"),
    ("joblib.load('in.txt')", "load"),
    ("np.load('in.txt')", "load"),
    ("pd.read_csv('in.txt')", "read_csv"),
    ("pd.read_csv(filepath_or_buffer='in.txt')", "read_csv"),
    ("pd.read_parquet(path='in.txt')", "read_parquet"),
    ("pq.read_table('in.txt')", "read_table"),
])
def test_a_read_is_never_a_write(source: str, call: str) -> None:
    assert accesses(source) == [("in.txt", "read", call, 1)]


def test_a_mode_not_written_as_text_is_taken_as_a_read() -> None:
    # the mode a name holds is not followed: the tracked run sees what it did
    assert accesses("open('in.txt', MODE)") == [("in.txt", "read", "open", 1)]


def test_paths_held_in_names_are_followed_from_cell_to_cell() -> None:
    found = accesses(
        "OUT = 'data'\nmodel_path: str = OUT + '/model.joblib'",
        "report = Path(OUT) / 'report.txt'\nlog = os.path.join(OUT, 'run.log')",
        "joblib.dump(m, model_path)\nreport.write_text('ok')\n"
        "with open(log, 'a') as f:\n    f.write('x')",
        "df.to_parquet(path=f'{OUT}/clean.parquet')\nnp.save(file=Path(OUT, 'x.npy'), arr=a)",
    )
    assert found == [
        ("data/model.joblib", "write", "dump", 3), ("data/report.txt", "write", "write_text", 3),
        ("data/run.log", "write", "open(mode='a')", 3),
        ("data/clean.parquet", "write", "to_parquet", 4), ("data/x.npy", "write", "save", 4)]


def test_a_name_bound_again_to_something_else_no_longer_names_the_path() -> None:
    assert accesses("p = 'a.csv'", "p = compute()", "df.to_csv(p)") == []
    assert accesses("p = 'a.csv'\np = 'b.csv'", "df.to_csv(p)") == [("b.csv", "write", "to_csv", 2)]
    # a loop's variable takes values no one knows before the code runs
    assert accesses("p = 'a.csv'", "for p in files:\n    df.to_csv(p)") == []


def test_cells_are_numbered_among_all_cells_and_only_code_is_read() -> None:
    cells = [
        ("markdown", "df.to_csv('doc.csv')"),
        ("raw", "open('raw.txt', 'w')"),
        ("code", "open('a.txt', 'w')"),
        ("code", "this is not python ("),
        ("code", "%%track\nPath('b.txt').write_bytes(b'x')\n!ls"),
        ("markdown", "notes"),
        ("code", "open('c.txt', 'x')\nopen('c.txt', 'x')"),
        ("code", "open('c.txt', 'x')"),
    ]
    assert dataflow.analyze(cells) == [
        Found("a.txt", "write", "open(mode='w')", 3),
        Found("b.txt", "write", "write_bytes", 5),
        Found("c.txt", "write", "open(mode='x')", 7),  # twice in one cell: once
        Found("c.txt", "write", "open(mode='x')", 8),
    ]


def test_a_cell_that_does_not_parse_hides_neither_the_cells_after_it_nor_its_names() -> None:
    assert accesses("p = 'a.csv'", "def broken(:", "df.to_csv(p)") == [
        ("a.csv", "write", "to_csv", 3)]
    assert accesses("x = 1\0", "open('b.txt', 'a')") == [  # a NUL byte
        ("b.txt", "write", "open(mode='a')", 2)]
    assert dataflow.analyze([]) == []


@pytest.mark.parametrize("path", [
    "Path('out.txt')", "PurePath('out.txt')", "PosixPath('out.txt')", "str(Path('out.txt'))",
    "os.fspath(Path('out.txt'))", "os.path.abspath('out.txt')", "os.path.expanduser('out.txt')",
    "os.path.join('out.txt')", "Path(OUT) / NAME", "Path(NAME)", "NAME + ''",
])
def test_a_path_built_from_known_parts_is_followed(path: str) -> None:
    assert accesses("OUT = '.'\nNAME = 'out.txt'", f"df.to_csv({path})") == [
        ("./out.txt" if "OUT" in path else "out.txt", "write", "to_csv", 2)]


@pytest.mark.parametrize("source", [
    "open(1, 'w')",  # a file descriptor, not a path
    "df.to_csv(Path(folder_at_run_time()) / 'x.csv')",
    "df.to_csv('data' / sub)",
    "df.to_csv(os.path.join('data', sub))",
    "df.to_csv(f'data/{sub}.csv')",
    "model.save(path_at_run_time())",
    "np.save(path_at_run_time(), arr)",
    "open(**options)",
    "df.to_csv()",
    "joblib.dump(model)",
])
def test_a_path_known_only_at_run_time_is_not_guessed(source: str) -> None:
    assert accesses(source) == []


def test_what_a_with_or_a_loop_binds_is_not_a_known_path() -> None:
    assert accesses("p = 'a.csv'", "with open('in.txt') as p:\n    df.to_csv(p)") == [
        ("in.txt", "read", "open", 2)]
    assert accesses("with open('log.txt', 'a'):\n    pass") == [
        ("log.txt", "write", "open(mode='a')", 1)]


@pytest.mark.parametrize("binds", [
    "for p in files:\n    pass", "with load() as p:\n    pass", "del p", "p += '.bak'",
    "(p := pick())", "import p", "import p.sub", "import os as p", "from m import p",
    "from m import x as p", "def p():\n    pass", "async def p():\n    pass", "class p:\n    pass",
])
def test_a_name_bound_again_by_any_statement_no_longer_names_the_path(binds: str) -> None:
    assert accesses("p = 'a.csv'", binds, "df.to_csv(p)") == []
    assert accesses("p = 'a.csv'", "import q\ndef f():\n    pass", "df.to_csv(p)") == [
        ("a.csv", "write", "to_csv", 3)]


def test_a_name_bound_to_a_value_not_a_path_names_nothing() -> None:
    assert accesses("model = fit(df)\nrows: int = 3", "joblib.dump(model, 'm.pkl')") == [
        ("m.pkl", "write", "dump", 2)]
    # an item or attribute given a path does not make its container one
    assert accesses("paths = {}\npaths['model'] = 'm.pkl'\ncfg.out = 'o.csv'",
                    "joblib.dump(m, paths)\ndf.to_csv(cfg)") == []
    assert accesses("a, b = 'x.csv'", "df.to_csv(a)") == []
