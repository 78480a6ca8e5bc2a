"""Alerts: a webhook, an e-mail or a command told what drifted, by how much and since when.

.. code-block:: yaml

    alerts:
      - webhook: ${SLACK_WEBHOOK}          # POSTs {"text": ...}: Slack, Mattermost, Teams
      - email:
          host: smtp.example.com
          port: 587                        # 25 by default; starttls: true by default on 587
          from: mlops@example.com
          to: [team@example.com]
          user: ${SMTP_USER}
          password: ${SMTP_PASSWORD}
      - command: notify-send nbmlops       # the alert's text on stdin, its JSON in
                                           # NBMLOPS_ALERT

Secrets come from the environment: ``${NAME}`` is replaced when the alert is sent, never
when the settings are read or recorded, and a target is described (in logs, runs and
reports) by its host or program only. Sending never fails a scoring run: each target is
tried :data:`ATTEMPTS` times with a short backoff, and what became of it is returned.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import smtplib
import socket
import subprocess
import time
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

from nbmlops.exceptions import ConfigError

__all__ = ["ATTEMPTS", "Alert", "Delivery", "Target", "parse_targets", "send",
           "unreachable"]

ATTEMPTS = 3
TIMEOUT = 10.0  # seconds per attempt
_BACKOFF = 0.5  # seconds before the second attempt, doubled after
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_EMAIL_KEYS = {"host", "port", "from", "to", "user", "password", "starttls"}


@dataclass(frozen=True)
class Alert:
    """What to say: a one-line title, the details, and the run to look at."""

    title: str
    lines: Sequence[str] = ()
    url: str | None = None
    kind: str = "drift"  # "drift" | "retrain" | "retrain_refused" | "rollback"
    facts: Mapping[str, Any] = field(default_factory=dict)

    def text(self) -> str:
        body = [self.title, *self.lines]
        if self.url:
            body.append(self.url)
        return "\n".join(body)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "lines": list(self.lines), "facts": dict(self.facts)}


@dataclass(frozen=True)
class Target:
    kind: str  # "webhook" | "email" | "command"
    settings: Mapping[str, Any]

    def describe(self) -> str:
        """The target without its secrets: a webhook's host, a mail host, a program."""
        if self.kind == "webhook":
            host = urlsplit(str(self.settings["url"])).hostname
            return f"webhook {host}" if host and "${" not in host else "webhook"
        if self.kind == "email":
            return f"e-mail via {self.settings['host']}"
        return f"command {shlex.split(str(self.settings['command']))[0]}"


@dataclass(frozen=True)
class Delivery:
    target: str
    delivered: bool
    attempts: int
    error: str = ""


def parse_targets(entries: Any) -> list[Target]:
    """The ``alerts:`` list; ConfigError naming the first bad entry."""
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise ConfigError("alerts: must be a list of webhook, email or command entries")
    return [_target(i, entry) for i, entry in enumerate(entries, start=1)]


def _target(i: int, entry: Any) -> Target:
    where = f"alerts: entry {i}"
    if not isinstance(entry, Mapping) or len(entry) != 1:
        raise ConfigError(f"{where} must be one of webhook: URL, email: {{...}}, command: TEXT")
    kind, value = next(iter(entry.items()))
    if kind == "webhook":
        url = str(value)
        scheme = urlsplit(url).scheme
        if not url.startswith("${") and scheme not in ("http", "https"):
            raise ConfigError(f"{where}: a webhook is an http(s) URL or ${{VARIABLE}}")
        return Target("webhook", {"url": url})
    if kind == "command":
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{where}: command must be a command line")
        try:
            shlex.split(value)
        except ValueError as e:
            raise ConfigError(f"{where}: command does not parse: {e}") from None
        return Target("command", {"command": value})
    if kind == "email":
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where}: email must be a table with host, from and to")
        unknown = sorted(set(value) - _EMAIL_KEYS)
        if unknown:
            raise ConfigError(f"{where}: email has an unknown key {unknown[0]!r}")
        missing = [k for k in ("host", "from", "to") if not value.get(k)]
        if missing:
            raise ConfigError(f"{where}: email needs {missing[0]}")
        port = value.get("port", 25)
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            raise ConfigError(f"{where}: email port must be a port number (got {port!r})")
        to = value["to"] if isinstance(value["to"], list) else [value["to"]]
        return Target("email", {**value, "port": port, "to": [str(t) for t in to],
                                "starttls": bool(value.get("starttls", port == 587))})
    raise ConfigError(f"{where}: unknown kind {kind!r} (webhook, email or command)")


def send(alert: Alert, targets: Sequence[Target]) -> list[Delivery]:
    """``alert`` to every target; never raises."""
    return [_deliver(alert, t) for t in targets]


def _deliver(alert: Alert, target: Target) -> Delivery:
    error = ""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            _SENDERS[target.kind](alert, target.settings)
            return Delivery(target.describe(), True, attempt)
        except Exception as e:  # any failure of a target is reported, never raised
            # The error's text may carry an expanded secret (a URL with a token in it).
            error = _without_secrets(f"{type(e).__name__}: {e}", target.settings)
        if attempt < ATTEMPTS:
            time.sleep(_BACKOFF * 2 ** (attempt - 1))
    return Delivery(target.describe(), False, ATTEMPTS, error)


def _expand(text: Any) -> str:
    def value(match: re.Match[str]) -> str:
        found = os.environ.get(match[1])
        if found is None:
            raise ConfigError(f"the environment has no {match[1]}")
        return found

    return _VARIABLE.sub(value, str(text))


def _without_secrets(text: str, settings: Mapping[str, Any]) -> str:
    for raw in settings.values():
        for name in _VARIABLE.findall(str(raw)):
            secret = os.environ.get(name)
            if secret:
                text = text.replace(secret, f"${{{name}}}")
    return " ".join(text.split())


def _webhook(alert: Alert, settings: Mapping[str, Any]) -> None:
    body = json.dumps({"text": alert.text(), "nbmlops": alert.to_json()}).encode()
    request = urllib.request.Request(
        _expand(settings["url"]), data=body, method="POST",
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:
        answer.read()


def _email(alert: Alert, settings: Mapping[str, Any]) -> None:
    message = EmailMessage()
    message["Subject"] = f"[nbmlops] {alert.title}"
    message["From"] = _expand(settings["from"])
    message["To"] = ", ".join(_expand(t) for t in settings["to"])
    message.set_content(alert.text())
    with smtplib.SMTP(_expand(settings["host"]), int(settings["port"]),
                      timeout=TIMEOUT) as smtp:
        if settings.get("starttls"):
            smtp.starttls()
        if settings.get("user"):
            smtp.login(_expand(settings["user"]), _expand(settings.get("password", "")))
        smtp.send_message(message)


def _command(alert: Alert, settings: Mapping[str, Any]) -> None:
    argv = [_expand(part) for part in shlex.split(str(settings["command"]))]
    subprocess.run(argv, input=alert.text(), text=True, timeout=TIMEOUT * 3, check=True,
                   capture_output=True,
                   env={**os.environ, "NBMLOPS_ALERT": json.dumps(alert.to_json())})


_SENDERS = {"webhook": _webhook, "email": _email, "command": _command}

#: Seconds a target gets to accept a connection when a job starts.
PROBE_TIMEOUT = 3.0
_PORTS = {"http": 80, "https": 443}


def unreachable(target: Target, timeout: float = PROBE_TIMEOUT) -> str | None:
    """Why ``target`` cannot be sent to now, in one line without its secrets; None when it
    can: a webhook's or mail host's port accepts a TCP connection within ``timeout``, a
    command's program is on PATH. Checked when a scoring job starts, so a typo in a host or
    a program fails the run at once rather than the first alert, weeks later."""
    try:
        if target.kind == "command":
            program = _expand(shlex.split(str(target.settings["command"]))[0])
            if shutil.which(program) is None:
                return f"{target.describe()}: {program} is not an executable on PATH"
            return None
        if target.kind == "webhook":
            url = urlsplit(_expand(target.settings["url"]))
            host, port = url.hostname or "", url.port or _PORTS.get(url.scheme, 80)
            shown = "${" not in str(target.settings["url"]).split("//")[-1].split("/")[0]
        else:
            host, port = _expand(target.settings["host"]), int(target.settings["port"])
            shown = "${" not in str(target.settings["host"])
    except (ConfigError, ValueError) as e:  # an unset variable, a port out of range
        return f"{target.describe()}: {e}"
    where = f" at {host}:{port}" if shown else ""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except TimeoutError:
        why = f"no answer within {timeout:g} s"
    except OSError as e:
        why = e.strerror or type(e).__name__
    return f"{target.describe()} cannot be reached{where}: {why.lower()}"
