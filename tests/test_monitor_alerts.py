"""Alerts reach a real local HTTP server, a real SMTP server and a real command."""

from __future__ import annotations

import json
import socket
import sys
import threading
from collections.abc import Iterator
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from nbmlops.exceptions import ConfigError
from nbmlops.monitor import alerts

ALERT = alerts.Alert(
    "churn@champion: 2 of 20 columns drifted",
    ["tenure: wasserstein 0.31 (limit 0.05) since 2026-12-04",
     "plan: jensen-shannon 0.09 (limit 0.05) since 2026-12-06"],
    url="http://127.0.0.1:5000/#/experiments/1/runs/abc",
    facts={"drifted_columns": ["tenure", "plan"]},
)


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(alerts, "_BACKOFF", 0.01)


class _Hook(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []
    failures_left = 0

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if _Hook.failures_left:
            _Hook.failures_left -= 1
            self.send_response(503)
        else:
            _Hook.received.append({"path": self.path, "body": json.loads(body)})
            self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def hook() -> Iterator[str]:
    _Hook.received, _Hook.failures_left = [], 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content)))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_webhook_gets_slack_compatible_json_and_the_secret_stays_out_of_sight(
    hook: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEAM_HOOK", f"{hook}/services/T000/B000/s3cr3t")
    targets = alerts.parse_targets([{"webhook": "${TEAM_HOOK}"}])
    assert targets[0].settings == {"url": "${TEAM_HOOK}"}  # expanded only when sent
    [delivery] = alerts.send(ALERT, targets)
    assert delivery == alerts.Delivery("webhook", True, 1)
    [got] = _Hook.received
    assert got["path"] == "/services/T000/B000/s3cr3t"
    assert got["body"]["text"].splitlines() == [ALERT.title, *ALERT.lines, ALERT.url]
    assert got["body"]["nbmlops"]["facts"] == {"drifted_columns": ["tenure", "plan"]}


def test_a_failing_target_is_retried_and_a_dead_one_reported_without_its_secret(
    hook: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _Hook.failures_left = 1
    [delivery] = alerts.send(ALERT, alerts.parse_targets([{"webhook": f"{hook}/x"}]))
    assert (delivery.delivered, delivery.attempts, delivery.target) == (
        True, 2, "webhook 127.0.0.1")
    monkeypatch.setenv("DEAD_HOOK", f"http://127.0.0.1:{_free_port()}/token-abc123")
    [dead] = alerts.send(ALERT, alerts.parse_targets([{"webhook": "${DEAD_HOOK}"}]))
    assert (dead.delivered, dead.attempts) == (False, alerts.ATTEMPTS)
    assert "refused" in dead.error.lower() or "URLError" in dead.error
    monkeypatch.delenv("DEAD_HOOK")
    [unset] = alerts.send(ALERT, alerts.parse_targets([{"webhook": "${DEAD_HOOK}"}]))
    assert not unset.delivered and "the environment has no DEAD_HOOK" in unset.error


def test_an_email_reaches_a_real_smtp_server(monkeypatch: pytest.MonkeyPatch) -> None:
    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        monkeypatch.setenv("ONCALL", "oncall@example.com")
        targets = alerts.parse_targets([{"email": {
            "host": "127.0.0.1", "port": controller.port, "from": "mlops@example.com",
            "to": ["team@example.com", "${ONCALL}"]}}])
        [delivery] = alerts.send(ALERT, targets)
    finally:
        controller.stop()
    assert delivery == alerts.Delivery("e-mail via 127.0.0.1", True, 1)
    [(recipients, message)] = inbox.messages
    assert recipients == ["team@example.com", "oncall@example.com"]
    assert message["Subject"] == f"[nbmlops] {ALERT.title}"
    assert "tenure: wasserstein 0.31" in message.get_payload()


def test_a_command_reads_the_alert_on_stdin_and_as_json(tmp_path: Path) -> None:
    out = tmp_path / "alert.txt"
    script = ("import os, sys, json; t = sys.stdin.read(); "
              "a = json.loads(os.environ['NBMLOPS_ALERT']); "
              f"open({str(out)!r}, 'w').write(a['kind'] + '|' + t)")
    targets = alerts.parse_targets([{"command": f"{sys.executable} -c \"{script}\""}])
    [delivery] = alerts.send(ALERT, targets)
    assert delivery.delivered and delivery.target == f"command {sys.executable}"
    assert out.read_text() == "drift|" + ALERT.text()
    [failed] = alerts.send(ALERT, alerts.parse_targets([{"command": "false"}]))
    assert (failed.delivered, failed.attempts) == (False, alerts.ATTEMPTS)


@pytest.mark.parametrize(("entries", "message"), [
    ({"webhook": "x"}, "must be a list"),
    ([{"webhook": "ftp://x"}], "entry 1: a webhook is an http"),
    ([{"pager": "x"}], "unknown kind 'pager'"),
    ([{"webhook": "http://a", "command": "b"}], "must be one of"),
    ([{"command": ""}], "must be a command line"),
    ([{"command": "echo 'open"}], "does not parse"),
    ([{"email": {"host": "h", "from": "f"}}], "email needs to"),
    ([{"email": {"host": "h", "from": "f", "to": "t", "port": "25"}}], "port must be"),
    ([{"email": {"host": "h", "from": "f", "to": "t", "tls": True}}], "unknown key 'tls'"),
])
def test_bad_alert_settings_are_one_line_errors(entries: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        alerts.parse_targets(entries)


def test_email_settings_take_their_defaults() -> None:
    [plain, tls] = alerts.parse_targets([
        {"email": {"host": "h", "from": "f", "to": "t"}},
        {"email": {"host": "h", "port": 587, "from": "f", "to": ["t", "u"]}},
    ])
    assert (plain.settings["port"], plain.settings["starttls"], plain.settings["to"]) == (
        25, False, ["t"])
    assert (tls.settings["starttls"], tls.settings["to"]) == (True, ["t", "u"])
    assert alerts.parse_targets(None) == []
