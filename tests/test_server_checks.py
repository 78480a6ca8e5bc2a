"""The sidebar server's checks on their own: which paths are inside the server's root, what
a path shown to the browser looks like, artifact paths a run may be asked for, the HTTP status
of each error and the export request's fields (the same code the handlers call; the handlers
themselves are driven through a real Jupyter server in tests/sidebar_server/)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nbformat
import pytest

from nbmlops import exceptions as ex
from nbmlops.runs import artifacts
from nbmlops.server import handlers, notebook, routes
from nbmlops.server.jsonable import jsonable


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "root" / "sub").mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    (tmp_path / "root" / "out").symlink_to(tmp_path / "outside", target_is_directory=True)
    return tmp_path / "root"


@pytest.mark.parametrize("path", ["sub/nb.ipynb", "/sub/nb.ipynb", "sub/../nb.ipynb", ".", "",
                                  "X.ipynb", "/XX/nb.ipynb",
                                  "sub/./x/../nb.ipynb"])
def test_paths_inside_the_root(root: Path, path: str) -> None:
    found = notebook.inside(root, path)
    assert found == (root.resolve() / path.lstrip("/")).resolve()


@pytest.mark.parametrize("path", ["..", "../outside/nb.ipynb", "sub/../../x", "out/nb.ipynb",
                                  "out", "//../x"])
def test_paths_leaving_the_root_are_refused(root: Path, path: str) -> None:
    with pytest.raises(ex.OutsideRoot, match=r"^'.*' is outside the server's root folder$"):
        notebook.inside(root, path)


def test_a_server_path_is_shown_relative_home_or_by_its_name(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(root.parent / "home"))
    (root.parent / "home" / "data").mkdir(parents=True)
    assert notebook.shown(root / "sub" / "a.db", root) == "sub/a.db"
    assert notebook.shown(root, root) == "."
    assert notebook.shown(root.parent / "home" / "data" / "x.db", root) == "~/data/x.db"
    assert notebook.shown(root.parent / "home", root) == "~/."
    assert notebook.shown("/etc/passwd", root) == ".../passwd"
    assert notebook.shown(root / "out" / "y.db", root) == ".../y.db"  # a link leaving it


def test_what_the_browser_sees_of_where_runs_go(root: Path) -> None:
    where = notebook.Where("nb.ipynb", root, f"sqlite:///{root}/sub/mlflow.db", "nb.ipynb",
                           None)
    assert where.public(root) == notebook.NotebookInfo(
        path="nb.ipynb", experiment="nb.ipynb", tracking_uri="sqlite:///sub/mlflow.db",
        ui_url=None, cells=[])
    remote = notebook.Where(None, root, "https://user:secret@mlflow.example/", "e", "http://ui")
    shown = remote.public(root)
    assert "secret" not in shown.tracking_uri and "mlflow.example" in shown.tracking_uri
    assert shown.ui_url == "http://ui"


@pytest.mark.parametrize("path", ["figures/a.png", "code/cell.py", "a", "data/x.json",
                                  "figures/.hidden.png", "a..b/c"])
def test_artifact_paths_a_run_may_be_asked_for(path: str) -> None:
    assert artifacts.checked_path(path) == path


@pytest.mark.parametrize("path", ["", "/etc/passwd", "../mlflow.db", "figures/../../x",
                                  "figures//a.png", "./a", "a/.", "figures\\..\\x.png", "a/",
                                  "a\\b"])
def test_artifact_paths_that_could_leave_the_run_are_refused(path: str) -> None:
    with pytest.raises(ex.InvalidQuery, match=r"^not an artifact path: "):
        artifacts.checked_path(path)


def test_images_are_known_by_suffix_figures_first() -> None:
    assert artifacts.content_type("figures/A.PNG") == "image/png"
    assert artifacts.content_type("x.svg") == "image/svg+xml"
    assert artifacts.content_type("x.jpeg") == artifacts.content_type("y.jpg") == "image/jpeg"
    assert artifacts.content_type("code/cell.py") is None
    assert artifacts.content_type("png") is None
    paths = ["z.png", "figures/b.png", "code/cell.py", "a.gif", "figures/a.webp", "figuresx.png"]
    assert artifacts.images(paths) == ["figures/a.webp", "figures/b.png", "a.gif",
                                       "figuresx.png", "z.png"]


@pytest.mark.parametrize(("error", "status"), [
    (ex.OutsideRoot, 403), (ex.NotebookNotFound, 404), (ex.ExperimentNotFound, 404),
    (ex.RunNotFound, 404), (ex.ArtifactTooLarge, 413), (ex.StoreNotFound, 404),
    (ex.GateError, 400), (ex.ModelError, 404), (ex.InvalidQuery, 400), (ex.QueryError, 424),
    (ex.ConfigError, 400), (ex.JobError, 400), (ex.ScheduleError, 400), (ex.LintError, 400),
    (ex.TrackLineError, 400), (ex.NbmlopsError, 400), (ex.SpoolError, 400),
])
def test_each_error_has_its_status(error: type[ex.NbmlopsError], status: int) -> None:
    assert handlers.status_of(error("x")) == status


def test_request_fields_are_typed() -> None:
    assert handlers._text({"a": "  x \n"}, "a") == "x"
    assert handlers._text({}, "a") == "" == handlers._text({"a": None}, "a")
    with pytest.raises(ex.ConfigError, match=r"^a must be a string$"):
        handlers._text({"a": 1}, "a")
    assert handlers._flag({"f": True}, "f") is True
    assert handlers._flag({}, "f") is False
    for value in ("yes", 1, None, "true"):
        with pytest.raises(ex.ConfigError, match=r"^f must be true or false$"):
            handlers._flag({"f": value}, "f")


def test_an_artifact_location_is_shown_without_server_paths_or_credentials(root: Path) -> None:
    assert handlers._shown_location(f"file://{root}/mlruns/1", root) == "file://mlruns/1"
    assert handlers._shown_location(f"{root}/mlruns/1", root) == "mlruns/1"
    assert handlers._shown_location("/srv/x/mlruns/1", root) == ".../1"
    assert handlers._shown_location("s3://bucket/1", root) == "s3://bucket/1"
    assert "pw" not in handlers._shown_location("https://u:pw@host/artifacts", root)


def _notebook(path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("lr = 0.1"), nbformat.v4.new_code_cell("print(lr)")]
    nbformat.write(nb, path)


def _export(root: Path, body: dict[str, Any]) -> Any:
    """What ``POST export`` answers, as JSON."""
    return jsonable(handlers.export_notebook(root, body))


def test_export_writes_the_job_and_says_what_it_wrote(root: Path) -> None:
    _notebook(root / "sub" / "train.ipynb")
    out = _export(root, {"notebook": "sub/train.ipynb", "schedule": "0 3 * * 1",
                         "targets": "github", "timezone": " Europe/Paris "})
    assert (out["name"], out["folder"], out["created"]) == ("train", "sub/jobs/train", True)
    assert out["schedule"] == {"cron": "0 3 * * 1", "timezone": "Europe/Paris",
                               "targets": ["github"]}
    assert out["parameters"] == ["lr"] and "job.yaml" in out["files"]
    assert (root / "sub" / "jobs" / "train" / "job.yaml").is_file()
    assert out["warnings"] == [] and out["changes"] == []
    assert out["notes"] == ["no %%track cell: runs record only the job's parent run"]
    again = _export(root, {"notebook": "sub/train.ipynb", "name": "nightly"})
    assert (again["name"], again["folder"]) == ("nightly", "sub/jobs/nightly")
    assert again["schedule"]["targets"] == [] and again["created"] is True
    assert (root / "sub" / "jobs" / "nightly" / "job.yaml").is_file()


def test_export_with_lint_errors_needs_force_and_says_what_changed(root: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("lr = 0.1"),
                nbformat.v4.new_code_cell("%pip install scikit-learn\nname = input()")]
    nbformat.write(nb, root / "ask.ipynb")
    with pytest.raises(ex.LintError, match=r"^1 lint error\(s\), nothing exported"):
        handlers.export_notebook(root, {"notebook": "ask.ipynb", "force": False})
    assert not (root / "jobs").exists()
    out = _export(root, {"notebook": "ask.ipynb", "force": True})
    assert out["created"] is True
    [warning] = out["warnings"]  # the error was forced through; the warning is told
    assert warning.startswith("cell 2: warning: installs packages at run time")
    nb.cells[0].source = "lr = 0.1\nepochs = 3"
    nbformat.write(nb, root / "ask.ipynb")
    again = _export(root, {"notebook": "ask.ipynb", "force": True})
    assert again["created"] is False and any("epochs" in c for c in again["changes"])


@pytest.mark.parametrize(("body", "error", "message"), [
    ({"notebook": None}, ex.ConfigError, 'give the notebook to export: {"notebook": PATH}'),
    ({"notebook": "  "}, ex.ConfigError, "give the notebook to export"),
    ({"notebook": "sub/train.py"}, ex.ConfigError, "'sub/train.py' is not a notebook (.ipynb)"),
    ({"notebook": "sub/none.ipynb"}, ex.NotebookNotFound, "no notebook 'sub/none.ipynb'"),
    ({"notebook": "../outside/x.ipynb"}, ex.OutsideRoot,
     "'../outside/x.ipynb' is outside the server's root"),
    ({"targets": ["cron"]}, ex.JobError, "schedule targets need a schedule"),
    ({"schedule": "0 3 * * *", "targets": [3]}, ex.ConfigError, "targets must be a list of names"),
    ({"schedule": "0 3 * * *", "targets": 3}, ex.ConfigError, "targets must be a list of names"),
    ({"schedule": "0 3 * * *", "targets": ["nope"]}, ex.ScheduleError,
     "unknown schedule target 'nope'"),
    ({"schedule": "0 3 * *"}, ex.ScheduleError, "invalid cron expression '0 3 * *'"),
    ({"name": "../x"}, ex.JobError, "invalid job name '../x'"),
])
def test_export_refuses_a_bad_request_and_writes_nothing(
    root: Path, body: dict[str, Any], error: type[ex.NbmlopsError], message: str
) -> None:
    _notebook(root / "sub" / "train.ipynb")
    (root / "sub" / "train.py").write_text("")
    with pytest.raises(error) as raised:
        handlers.export_notebook(root, {"notebook": "sub/train.ipynb", **body})
    assert str(raised.value).startswith(message), str(raised.value)
    assert not (root / "sub" / "jobs").exists()


@pytest.mark.parametrize("exports", [
    # an untimed target (the image) needs no schedule: the endpoint used to refuse it
    [{"targets": ["image"]}],
    # a schedule in job.yaml stays when none is sent: the endpoint used to refuse the target
    [{"schedule": "0 3 * * 1"}, {"targets": ["github"]}],
    [{"schedule": "0 3 * * 1", "timezone": "Europe/Paris"}, {}],
], ids=["untimed-target", "kept-schedule", "kept-timezone"])
def test_export_agrees_with_the_command_line(root: Path, exports: list[dict[str, Any]]) -> None:
    from nbmlops.cli import main
    from nbmlops.jobs.spec import load

    _notebook(root / "api.ipynb")
    _notebook(root / "cli.ipynb")
    for body in exports:
        out = _export(root, {"notebook": "api.ipynb", **body})
        argv = ["export", str(root / "cli.ipynb")]
        argv += ["--schedule", body["schedule"]] if "schedule" in body else []
        argv += ["--timezone", body["timezone"]] if "timezone" in body else []
        argv += [word for t in body.get("targets", []) for word in ("--target", t)]
        assert main(argv) == 0
    by_api, by_cli = load(root / "jobs" / "api"), load(root / "jobs" / "cli")
    assert by_api.schedule == by_cli.schedule
    assert out["schedule"] == {"cron": by_cli.schedule.cron,
                               "timezone": by_cli.schedule.timezone,
                               "targets": by_cli.schedule.targets}
    assert sorted(f for f in out["files"] if f != "api.ipynb") == sorted(
        p.name for p in (root / "jobs" / "cli").iterdir() if p.is_file() and p.name != "cli.ipynb")


def test_export_refuses_a_jobs_folder_leaving_the_root(root: Path) -> None:
    _notebook(root / "sub" / "train.ipynb")
    (root / "sub" / "jobs").symlink_to(root.parent / "outside", target_is_directory=True)
    with pytest.raises(ex.OutsideRoot):
        handlers.export_notebook(root, {"notebook": "sub/train.ipynb"})
    assert list((root.parent / "outside").iterdir()) == []


def test_every_route_is_under_the_prefix_of_the_base_url() -> None:
    class App:  # what setup_routes uses of tornado's Application
        settings = {"base_url": "/user/ana/"}
        added: list[tuple[str, list[tuple[str, Any]]]] = []

        def add_handlers(self, host: str, rules: list[tuple[str, Any]]) -> None:
            self.added.append((host, rules))

    app = App()
    routes.setup_routes(app)
    [(host, rules)] = app.added
    assert host == ".*$" and len(rules) == len(routes.ROUTES)
    assert rules[0] == ("/user/ana/nbmlops/api/notebook", handlers.NotebookHandler)
    assert all(url.startswith("/user/ana/nbmlops/api/") for url, _ in rules)
    App.settings = {}
    App.added = []
    routes.setup_routes(App())
    assert App.added[0][1][0][0] == "/nbmlops/api/notebook"


def test_the_tracked_cells_of_a_notebook_file(tmp_path: Path) -> None:
    cells = [
        {"cell_type": "markdown", "source": "%%track not-code"},
        {"cell_type": "code", "id": "c1",
         "source": ["%%track fit --experiment other\n", "\n", "  model = fit()\n"]},
        {"cell_type": "code", "id": "c2", "source": "x = 1"},
        {"cell_type": "code", "id": "abc-3", "source": "%%track\nacc = 0.9"},
        {"cell_type": "code", "id": "c4", "source": "%%track --bogus\ny = 2"},
        "not a cell",
        {"cell_type": "code", "id": "c6", "source": "%%track long\n" + "z" * 200},
        {"cell_type": "code", "id": "c7", "source": "%%track empty\n\n"},
    ]
    (tmp_path / "nb.ipynb").write_text(json.dumps({"cells": cells}))
    found = notebook.tracked_cells(tmp_path / "nb.ipynb")
    assert [(c.index, c.cell_id, c.run_name, c.named, c.experiment, c.first_line)
            for c in found] == [
        (1, "c1", "fit", True, "other", "model = fit()"),
        (3, "abc-3", "cell-abc-3", False, None, "acc = 0.9"),
        (4, "c4", "cell-c4", False, None, "y = 2"),
        (6, "c6", "long", True, None, "z" * 120),
        (7, "c7", "empty", True, None, ""),
    ]
    assert found[0].options is not None and found[0].options["name"] == "fit"
    assert found[0].problem is None and found[1].options is not None
    assert found[1].options["name"] is None
    assert found[2].options is None
    assert found[2].problem == "%%track: unrecognized arguments: --bogus"
    (tmp_path / "empty.ipynb").write_text("{}")
    assert notebook.tracked_cells(tmp_path / "empty.ipynb") == []


def test_a_notebook_file_that_is_not_there_or_not_json(tmp_path: Path) -> None:
    with pytest.raises(ex.NotebookNotFound, match=r"^no notebook 'none\.ipynb'$"):
        notebook.tracked_cells(tmp_path / "none.ipynb")
    (tmp_path / "bad.ipynb").write_text("{not json")
    with pytest.raises(ex.NbmlopsError, match=r"^cannot read bad\.ipynb: Expecting property"):
        notebook.tracked_cells(tmp_path / "bad.ipynb")


def test_where_a_notebook_and_the_root_write_their_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("MLFLOW_TRACKING_URI", "NBMLOPS_EXPERIMENT", "NBMLOPS_UI_URL"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    (tmp_path / "nb.ipynb").write_text(json.dumps({"cells": [
        {"cell_type": "code", "id": "a", "source": "%%track fit\nx = 1"}]}))
    db = f"sqlite:///{tmp_path.resolve()}/mlflow.db"
    where = notebook.resolve(tmp_path, "/nb.ipynb")
    assert (where.path, where.project_root, where.tracking_uri, where.experiment) == (
        "nb.ipynb", tmp_path.resolve(), db, "nb.ipynb")
    assert where.ui_url is None and [c.run_name for c in where.cells] == ["fit"]
    data = notebook.resolve(tmp_path, "data.csv")  # not a notebook: no cells read
    assert (data.path, data.cells) == ("data.csv", [])
    for none in (None, ""):
        root = notebook.resolve(tmp_path, none)
        assert (root.path, root.project_root, root.tracking_uri, root.experiment,
                root.ui_url, root.cells) == (None, tmp_path.resolve(), db, "", None, [])
    with pytest.raises(ex.OutsideRoot):
        notebook.resolve(tmp_path, "../nb.ipynb")
    monkeypatch.setenv("NBMLOPS_UI_URL", "http://ui.example/")
    assert notebook.resolve(tmp_path, "nb.ipynb").ui_url == "http://ui.example"
    assert notebook.resolve(tmp_path, None).ui_url == "http://ui.example"
