"""Secrets never reach MLflow: redaction of names, values and cell source.

Three layers, used together:

- :func:`is_secret_name` — a parameter, tag, variable or environment name that holds a
  secret (``api_key``, ``AWS_SECRET_ACCESS_KEY``, ``dbPassword``, ``token``);
- :func:`redact_value` — credential-looking text anywhere (AWS, GitHub, Slack, OpenAI,
  Google, Hugging Face and Stripe keys, JWTs, ``Bearer`` tokens, private key blocks,
  passwords in URLs and connection strings);
- :func:`redact_code` — string literals bound to secret names in a cell's source, then
  :func:`redact_value` over the whole text.

Names are split into words on ``_ - .``, spaces, digits and camelCase, and matched word by
word, so ``monkey``, ``keyboard`` and ``tokenizer`` never match. Rules, chosen so common ML
hyper-parameters survive:

- ``secret(s)``, ``password``, ``passwd``, ``passphrase``, ``credential(s)``, ``creds``,
  ``authorization``, ``cookie`` anywhere in the name;
- ``pwd`` / ``pass`` / ``auth`` as the last word (``db_pwd``, ``SMTP_PASS``, ``basic_auth``;
  not ``auth_type``, ``first_pass``); the shell's ``PWD`` / ``OLDPWD`` are folders, not secrets;
- ``token`` as the last word unless a tokenizer word precedes it (``token``, ``hf_token``,
  ``access_token`` match; ``pad_token``, ``eos_token``, ``max_tokens``, ``token_ids`` do not);
- ``key`` after a word naming a credential (``api_key``, ``private_key``,
  ``AWS_SECRET_ACCESS_KEY``, ``ssh_key``, ``signing_key``) and ``apikey`` / ``privatekey``
  written as one word; a bare ``key``, ``n_keys``, ``sort_key``, ``primary_key`` or
  ``s3_key`` (an object path) do not match.
"""

from __future__ import annotations

import ast
import os
import re
import warnings
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit, urlunsplit

__all__ = [
    "PLACEHOLDER",
    "is_secret_name",
    "namespace_secrets",
    "redact_code",
    "redact_known",
    "redact_mapping",
    "redact_value",
]

#: What a secret is replaced with, in values and (as a string literal) in code.
PLACEHOLDER = "<redacted>"

# -- names --------------------------------------------------------------------------------------

_ALWAYS = frozenset({
    "secret", "secrets", "password", "passwords", "passwd", "passphrase", "credential",
    "credentials", "creds", "authorization", "cookie", "cookies", "apikey", "apikeys",
    "privatekey", "secretkey", "accesskey", "authtoken", "accesstoken", "sessiontoken",
})
_LAST = frozenset({"pwd", "pass", "auth", "token", "dsn"})
#: Words before ``token`` that make it an NLP token, not a credential.
_TOKENIZER_WORDS = frozenset({
    "pad", "eos", "bos", "unk", "sep", "cls", "mask", "start", "end", "stop", "special",
    "begin", "max", "min", "num", "n", "total", "input", "output", "prompt", "completion",
    "first", "last", "next", "prev", "image", "vocab", "oov", "split", "decoder", "encoder",
    "placeholder", "separator", "eot", "fim", "word", "sub", "subword",
})
#: Words before ``key`` that make it a credential.
_KEY_QUALIFIERS = frozenset({
    "api", "access", "secret", "private", "signing", "sign", "encryption", "encrypt",
    "decryption", "master", "ssh", "auth", "client", "app", "consumer", "storage",
    "account", "service", "subscription", "license", "licence", "session", "shared",
    "gpg", "pgp", "rsa", "deploy", "admin", "webhook", "ingestion", "write", "hmac",
    "crypto", "fernet", "jwt", "aes", "root", "openai", "anthropic", "stripe", "cohere",
    "mistral", "groq", "gemini", "google", "azure", "aws", "gcp", "wandb", "comet",
    "neptune", "pinecone", "mapbox", "sendgrid", "twilio", "huggingface", "hf",
})
_SHELL_NAMES = frozenset({"PWD", "OLDPWD"})
_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+")


def _words(name: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(name)]


def is_secret_name(name: str) -> bool:
    """Whether a name (variable, parameter, key, environment variable) denotes a secret."""
    if not isinstance(name, str) or name in _SHELL_NAMES:
        return False
    words = _words(name)
    if not words:
        return False
    for i, word in enumerate(words):
        if word in _ALWAYS:
            return True
        previous = words[i - 1] if i else ""
        if word == "key" and previous in _KEY_QUALIFIERS:
            return True
    last = words[-1]
    previous = words[-2] if len(words) > 1 else ""
    if last == "token":
        return previous not in _TOKENIZER_WORDS
    return last in _LAST


# -- values -------------------------------------------------------------------------------------

_P = PLACEHOLDER
_AWS_PREFIXES = ("AKIA", "ASIA", "ABIA", "ACCA", "AGPA", "AIDA", "AIPA", "ANPA", "ANVA", "AROA",
                 "APKA", "ASCA")


class _Rule:
    """A pattern, its replacement, and literal triggers: the regex runs only when one of them
    is in the text (lower-cased for case-insensitive rules). ``in`` scans megabytes in
    microseconds; a regex that starts with ``\\b`` tries every position of the text."""

    __slots__ = ("ignore_case", "pattern", "replacement", "triggers")

    def __init__(self, triggers: tuple[str, ...], pattern: str, replacement: str = _P) -> None:
        # Runs only at import (the rules below), where mutation testing cannot switch a
        # mutant on per test: what it builds is tested through every rule's own cases.
        self.ignore_case = pattern.startswith("(?i)")  # pragma: no mutate
        lowered = tuple(t.lower() for t in triggers)  # pragma: no mutate
        self.triggers = lowered if self.ignore_case else triggers  # pragma: no mutate
        self.pattern = re.compile(pattern, re.S)  # pragma: no mutate
        self.replacement = replacement  # pragma: no mutate


_KEEP = r"\1" + _P  # keep the first group, replace the rest of the match
_RULES: tuple[_Rule, ...] = (
    # PEM private keys, also a block cut off before its END line.
    _Rule(("PRIVATE KEY",), r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----"
          r"(?:.*?-----END[A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----|.*\Z)"),
    # JSON Web Tokens: header.payload.signature, the first two base64url JSON.
    _Rule(("eyJ",), r"\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"),
    # AWS access key ids.
    _Rule(_AWS_PREFIXES, r"\b(?:" + "|".join(_AWS_PREFIXES) + r")[A-Z0-9]{16}\b"),
    # GitHub tokens (classic and fine-grained).
    _Rule(("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
          r"\b(?:gh[pousr]_[A-Za-z0-9]{30,255}|github_pat_[A-Za-z0-9_]{22,255})"),
    # Slack tokens and webhooks.
    _Rule(("xox",), r"\bxox[abposre]-[A-Za-z0-9-]{10,}"),
    _Rule(("hooks.slack.com",), r"https://hooks\.slack\.com/services/[A-Za-z0-9/_-]+"),
    # OpenAI / Anthropic style keys (sk-..., sk-proj-..., sk-ant-...).
    _Rule(("sk-",), r"\bsk-[A-Za-z0-9_-]{20,}"),
    # Stripe secret and restricted keys.
    _Rule(("k_live_", "k_test_"), r"\b[rs]k_(?:live|test)_[A-Za-z0-9]{16,}"),
    # Google API keys.
    _Rule(("AIza",), r"\bAIza[0-9A-Za-z_-]{35}"),
    # Hugging Face tokens.
    _Rule(("hf_",), r"\bhf_[A-Za-z0-9]{30,}"),
    # Authorization headers and bearer tokens: keep the header and the scheme word.
    _Rule(("authorization",),
          r"(?i)(\bauthorization:\s*(?:bearer|basic|token|bot)?\s*)[^\s\"']{8,}", _KEEP),
    _Rule(("earer",), r"(\b[Bb]earer\s+)[A-Za-z0-9._~+/=-]{8,}", _KEEP),
    # user:password@ in URLs: keep the user. Anchored on "://" so it stays linear.
    _Rule(("://",), r"(://[^:/?#@\s\"']*:)[^@/?#\s\"']+(?=@)", _KEEP),
    # AWS secret access keys next to their name.
    _Rule(("secret",),
          r"(?i)(aws_?secret_?(?:access_?)?key[\"']?\s*[:=]\s*[\"']?)[A-Za-z0-9/+=]{40}", _KEEP),
    # Password=...; in connection strings (written without spaces, which keeps Python's
    # ``password = read_password()`` and ``f(pwd=pwd)`` intact).
    _Rule(("password=", "passwd=", "pwd="),
          r"(?i)(\b(?:password|passwd|pwd)=)[^;&\s\"',()]+(?=[;&\s\"']|\Z)", _KEEP),
    # Secret query parameters.
    _Rule(("key=", "token=", "secret=", "password=", "sig=", "signature="),
          r"(?i)([?&](?:api[_-]?key|key|access[_-]?token|token|secret|client[_-]?secret|"
          r"password|sig|signature)=)[^&#\s\"']+", _KEEP),
)


def redact_value(text: str) -> str:
    """``text`` with every credential-looking substring replaced by :data:`PLACEHOLDER`."""
    if not text or not isinstance(text, str):
        return text
    lower: str | None = None
    for rule in _RULES:
        if rule.ignore_case:
            if lower is None:
                lower = text.lower()
            if not any(t in lower for t in rule.triggers):
                continue
        elif not any(t in text for t in rule.triggers):
            continue
        text, n = rule.pattern.subn(rule.replacement, text)
        if n:
            lower = None
    for secret in _secret_environment(frozenset(os.environ.items())):
        if secret in text:
            text = text.replace(secret, PLACEHOLDER)
    return text


#: Shorter values of secret-named variables are too likely to occur by chance (``1``, ``dev``).
_MIN_ENV_SECRET = 8


@lru_cache(maxsize=4)
def _secret_environment(environment: frozenset[tuple[str, str]]) -> tuple[str, ...]:
    """The values of the process's secret-named environment variables (``HF_TOKEN``,
    ``DB_PASSWORD``): wherever one shows up (an error message, a traceback, a frame's top
    values), it is a secret."""
    found = {v for k, v in environment if len(v) >= _MIN_ENV_SECRET and is_secret_name(k)}
    return tuple(sorted(found, key=len, reverse=True))  # longest first: none hides another


#: A secret-named variable's value shorter than this is left alone: ``"1"`` or ``"dev"``
#: occur in any text by chance, and replacing them would garble it.
_MIN_KNOWN_SECRET = 4
#: Dicts are searched for secret keys only up to this size: a configuration is small, a
#: vocabulary is not, and the search runs while a failed cell is recorded.
_MAX_DICT = 256


def namespace_secrets(namespace: Mapping[str, Any]) -> tuple[str, ...]:
    """The strings a namespace holds under secret names, longest first: its secret-named
    variables (``db_password``; the values of a ``creds`` dict), and the secret keys of its
    small dicts (``settings = {"client_secret": ...}``)."""
    found: set[str] = set()
    for name, value in list(namespace.items()):
        secret = isinstance(name, str) and is_secret_name(name)
        if secret and isinstance(value, str):
            found.add(value)
        elif isinstance(value, dict) and len(value) <= _MAX_DICT:
            found.update(v for k, v in value.items() if isinstance(v, str) and (
                secret or (isinstance(k, str) and is_secret_name(k))))
    found = {v for v in found if len(v) >= _MIN_KNOWN_SECRET and v != PLACEHOLDER}
    return tuple(sorted(found, key=lambda v: (-len(v), v)))


def redact_known(text: str, secrets: Iterable[str]) -> str:
    """:func:`redact_value` of ``text``, with each of ``secrets`` (known values, such as
    :func:`namespace_secrets` finds) replaced as well, longest first."""
    for secret in sorted(secrets, key=len, reverse=True):
        if secret and secret in text:
            text = text.replace(secret, PLACEHOLDER)
    return redact_value(text)


# One ``key = value`` / ``key: value`` / ``export KEY=value`` line of code or configuration
# (Python, .env, shell, INI, YAML, JSON), as a diff shows it: ``+``, ``-`` or `` `` first.
_ASSIGNMENT_LINE = re.compile(
    r"""^(?P<head>[+\- ]?\s*(?:export\s+)?["']?(?P<key>[A-Za-z_][\w.\-]*)["']?\s*[:=]\s*)"""
    r"""(?P<value>[^\s,].*?)(?P<tail>,?\s*)$"""
)


# A quoted key and its quoted value anywhere in a line: ``{"lr": 0.1, "api_key": "..."}``.
_QUOTED_PAIR = re.compile(
    r"""(?P<head>(?P<q>["'])(?P<key>[A-Za-z_][\w.\-]*)(?P=q)\s*:\s*(?P<v>["']))"""
    r"""(?P<value>[^"'\n]*)(?P=v)"""
)


def _pair(match: re.Match[str]) -> str:
    if not is_secret_name(match["key"]):
        return match[0]
    return f"{match['head']}{PLACEHOLDER}{match['v']}"


def redact_lines(text: str) -> str:
    """Lines of code or configuration (a git diff, an ``.env`` file) with the value of every
    secret-named key replaced (one per line, and quoted pairs of inline JSON or dicts), on
    removed and context lines too, then :func:`redact_value`."""
    out = []
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        ending = line[len(body):]
        match = _ASSIGNMENT_LINE.match(body)
        if match and is_secret_name(match["key"]):
            body = match["head"] + PLACEHOLDER + match["tail"]
        out.append(_QUOTED_PAIR.sub(_pair, body) + ending)
    return redact_value("".join(out))


def redact_mapping(mapping: Mapping[Any, Any]) -> dict[Any, Any]:
    """A copy with the values of secret names replaced by :data:`PLACEHOLDER` and secrets
    inside other string values redacted (nested mappings and lists too)."""
    return {
        key: PLACEHOLDER if isinstance(key, str) and is_secret_name(key) else _redact_any(value)
        for key, value in mapping.items()
    }


def _redact_any(value: Any) -> Any:
    if isinstance(value, str):
        return redact_value(value)
    if isinstance(value, Mapping):
        return redact_mapping(value)
    if isinstance(value, list):
        return [_redact_any(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_redact_any(v) for v in value)
    return value


# -- code ---------------------------------------------------------------------------------------


def redact_code(source: str) -> str:
    """The cell's source with string literals bound to secret names replaced by
    ``"<redacted>"``, then :func:`redact_value` over the result.

    Finds ``name = "..."``, ``self.name = "..."``, ``os.environ["NAME"] = "..."``, tuple
    unpacking, keyword arguments ``f(name="...")``, dict entries ``{"name": "..."}``,
    parameter defaults and the default of ``os.getenv("NAME", "...")``. Never raises: source
    that does not parse (IPython syntax) gets value redaction only.
    """
    if not source:
        return source
    tree = _parse(source)
    if tree is None:
        return redact_value(source)
    spans = _outermost(sorted({_span(node) for node in _secret_literals(tree)}))
    if not spans:
        return redact_value(source)
    # Offsets are UTF-8 byte columns: edit the encoded lines, last span first.
    lines = source.encode("utf-8", "surrogatepass").splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    data = b"".join(lines)
    # Pieces joined once: splicing each span into the whole text would cost n² bytes.
    pieces, done = [], 0
    for start_line, start_col, end_line, end_col, is_bytes in spans:
        start = offsets[start_line - 1] + start_col
        literal = ('b"' if is_bytes else '"') + PLACEHOLDER + '"'
        pieces += [data[done:start], literal.encode()]
        done = offsets[end_line - 1] + end_col
    pieces.append(data[done:])
    return redact_value(b"".join(pieces).decode("utf-8", "surrogatepass"))


def typed_secret_lines(source: str) -> list[int]:
    """The lines (1-based) of ``source`` where a secret is written out: a string literal
    bound to a secret name, or a value :func:`redact_value` knows (a key, a URL's password).
    An f-string that only puts names together (``f"Bearer {token}"``) writes out none, nor
    does an empty default."""
    found: set[int] = set()
    tree = _parse(source)
    for node in _secret_literals(tree) if tree is not None else ():
        if isinstance(node, ast.JoinedStr):
            written = not any(isinstance(v, ast.FormattedValue) for v in node.values)
        else:  # a str or bytes constant (see _literals): "" is no secret
            written = bool(node.value.strip())  # type: ignore[attr-defined]
        if written:
            found.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))
    found.update(i for i, line in enumerate(source.splitlines(), 1) if redact_value(line) != line)
    return sorted(found)


def _parse(source: str) -> ast.Module | None:
    """The module, or ``None``; lines of IPython syntax (``%magic``, ``!shell``) are blanked
    on a second try so the rest of the cell is still redacted."""
    for attempt in (source, _blank_ipython_lines(source)):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # SyntaxWarning for the user's escapes
                return ast.parse(attempt)
        except (SyntaxError, ValueError, MemoryError, RecursionError):
            continue
    return None


def _blank_ipython_lines(source: str) -> str:
    # Blanking keeps line numbers, so the spans found still point into the original text.
    return "".join(
        "\n" if line.lstrip().startswith(("%", "!")) else line
        for line in source.splitlines(keepends=True)
    )


#: (line, column, end line, end column, is bytes) of a literal; columns are UTF-8 offsets.
_Span = tuple[int, int, int, int, bool]


def _outermost(spans: list[_Span]) -> list[_Span]:
    """Sorted spans without those inside another (a literal inside a redacted f-string)."""
    kept: list[_Span] = []
    for span in spans:
        if not kept or span[:2] >= kept[-1][2:4]:
            kept.append(span)
    return kept


def _span(node: ast.expr) -> tuple[int, int, int, int, bool]:
    is_bytes = isinstance(node, ast.Constant) and isinstance(node.value, bytes)
    return (node.lineno, node.col_offset, node.end_lineno or node.lineno,
            node.end_col_offset or node.col_offset, is_bytes)


def _secret_literals(tree: ast.AST) -> Iterable[ast.expr]:
    """String literals (or f-strings) that are the value of a secret name."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                yield from _assigned(target, node.value)
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign, ast.NamedExpr)):
            if node.value is not None:
                yield from _assigned(node.target, node.value)
        elif isinstance(node, ast.Call):
            for kw in node.keywords:
                if kw.arg is not None and is_secret_name(kw.arg):
                    yield from _literals(kw.value)
            yield from _getenv_default(node)
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if _is_secret_label(key):
                    yield from _literals(value)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            args = node.args
            positional = [*args.posonlyargs, *args.args]
            pairs = [*zip(positional[len(positional) - len(args.defaults):], args.defaults,
                          strict=True),
                     *zip(args.kwonlyargs, args.kw_defaults, strict=True)]
            for arg, default in pairs:
                if default is not None and is_secret_name(arg.arg):
                    yield from _literals(default)
        elif isinstance(node, ast.Compare) and _is_secret_label(node.left):
            for comparator in node.comparators:  # if password == "...":
                yield from _literals(comparator)


def _assigned(target: ast.expr, value: ast.expr) -> Iterable[ast.expr]:
    if isinstance(target, (ast.Tuple, ast.List)) and isinstance(value, (ast.Tuple, ast.List)):
        if len(target.elts) == len(value.elts):
            for t, v in zip(target.elts, value.elts, strict=True):
                yield from _assigned(t, v)
        return
    if _is_secret_label(target):
        yield from _literals(value)


def _is_secret_label(node: ast.expr | None) -> bool:
    """``password``, ``obj.password``, ``x["password"]``, ``"password"`` (a dict key)."""
    if isinstance(node, ast.Name):
        return is_secret_name(node.id)
    if isinstance(node, ast.Attribute):
        return is_secret_name(node.attr)
    if isinstance(node, ast.Subscript):
        return _is_secret_label(node.slice)
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return is_secret_name(node.value)
    return False


def _literals(node: ast.expr) -> Iterable[ast.expr]:
    """The string literals an expression's value is made of (not call arguments or
    subscripts: in ``os.environ["HF_TOKEN"]`` the literal is a name, not the secret)."""
    if isinstance(node, ast.JoinedStr) or (
        isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes))
    ):
        yield node
    elif isinstance(node, ast.BinOp):
        yield from _literals(node.left)
        yield from _literals(node.right)
    elif isinstance(node, ast.BoolOp):
        for value in node.values:
            yield from _literals(value)
    elif isinstance(node, ast.IfExp):
        yield from _literals(node.body)
        yield from _literals(node.orelse)
    elif isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        for elt in node.elts:
            yield from _literals(elt)
    elif isinstance(node, ast.Call):
        yield from _getenv_default(node)


def _getenv_default(call: ast.Call) -> Iterable[ast.expr]:
    """The default of ``os.getenv("X_TOKEN", "...")`` / ``environ.get(...)`` /
    ``setdefault(...)`` when the looked-up name is secret."""
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    if name not in ("getenv", "get", "setdefault", "pop") or not call.args:
        return
    if not _is_secret_label(call.args[0]):
        return
    for default in call.args[1:2]:
        yield from _literals(default)
    for kw in call.keywords:
        if kw.arg in ("default", "value"):
            yield from _literals(kw.value)


def strip_credentials(url: str) -> str:
    """A remote URL without secrets: ``https://user:token@host/x`` -> ``https://host/x``
    (on http(s) a lone user name is usually a token too); other schemes keep the user
    name and lose the password. scp-like ``git@host:org/repo`` is left alone."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if not parts.scheme or "@" not in parts.netloc:
        return url
    userinfo, _, host = parts.netloc.rpartition("@")
    if parts.scheme.lower() in ("http", "https", "ftp", "ftps"):
        netloc = host
    else:
        user = userinfo.partition(":")[0]
        netloc = f"{user}@{host}" if user else host
    return urlunsplit(parts._replace(netloc=netloc))
