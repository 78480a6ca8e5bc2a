"""Secrets never reach MLflow; hyper-parameters that only look like them do."""

from __future__ import annotations

import ast

import pytest

from nbmlops.redact import (
    PLACEHOLDER,
    is_secret_name,
    namespace_secrets,
    redact_code,
    redact_known,
    redact_lines,
    redact_mapping,
    redact_value,
)

# Fake credentials, assembled so secret scanners do not flag this file.
AWS_ID = "AKIA" + "IOSFODNN7EXAMPLE"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYEXAMPLEKEY"
GH = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
GH_PAT = "github_pat_" + "11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz"
SLACK = "xoxb-" + "123456789012-1234567890123-abcdefABCDEF"
OPENAI = "sk-proj-" + "abcdefghijklmnopqrstuvwxyz012345"
ANTHROPIC = "sk-ant-api03-" + "abcdefghijklmnopqrstuvwxyz"
GOOGLE = "AIza" + "SyA1234567890abcdefghijklmnopqrstuv"
HF = "hf_" + "abcdefghijklmnopqrstuvwxyzABCDEFGH"
STRIPE = "sk_live_" + "abcdefghijklmnop1234"
JWT = ("eyJhbGciOiJIUzI1NiJ9" + "." + "eyJzdWIiOiIxMjM0NTY3ODkwIn0" + "."
       + "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U")
PEM = ("-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7\nabc/def+ghi=\n"
       "-----END RSA PRIVATE KEY-----")


@pytest.mark.parametrize(
    "name",
    [
        "api_key", "API_KEY", "OPENAI_API_KEY", "apikey", "APIKey", "myApiKey",
        "AWS_SECRET_ACCESS_KEY", "aws_access_key_id", "secret", "client_secret", "SECRETS",
        "password", "dbPassword", "DB_PASSWORD", "passwd", "db_pwd", "SMTP_PASS", "passphrase",
        "token", "hf_token", "GITHUB_TOKEN", "access_token", "refresh-token", "OAuthToken",
        "SLACK_BOT_TOKEN", "id_token", "auth", "basic_auth", "authorization", "credentials",
        "gcp_credential", "creds", "private_key", "privateKey", "ssh_key", "signing_key",
        "session.cookie", "SENTRY_DSN", "wandb_api_key",
    ],
)
def test_secret_names(name: str) -> None:
    assert is_secret_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "monkey", "tokenizer", "keyboard", "n_keys", "keys", "key", "max_tokens",
        "max_new_tokens", "num_tokens", "tokens", "special_tokens", "pad_token", "eos_token",
        "bos_token", "token_ids", "tokenize", "sort_key", "primary_key", "s3_key",
        "key_column", "author", "authority", "auth_type", "PWD", "OLDPWD", "passes", "bypass",
        "compass", "n_passes", "learning_rate", "batch_size", "secretary",
        "turkey", "hotkey", "",
    ],
)
def test_names_that_are_not_secret(name: str) -> None:
    assert not is_secret_name(name)


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        (f"id={AWS_ID}", AWS_ID),
        (f"aws_secret_access_key = {AWS_SECRET}", AWS_SECRET),
        (f'{{"AwsSecretKey": "{AWS_SECRET}"}}', AWS_SECRET),
        (f"token {GH} in a log line", GH),
        (f"pat={GH_PAT}", GH_PAT),
        (f"slack: {SLACK}", SLACK),
        (f"OPENAI_API_KEY={OPENAI}", OPENAI),
        (f"key {ANTHROPIC}", ANTHROPIC),
        (f"google {GOOGLE}", GOOGLE),
        (f"hf {HF}", HF),
        (f"stripe {STRIPE}", STRIPE),
        (f"jwt {JWT}", JWT),
        ("Authorization: Bearer abc.def-ghi_jkl", "abc.def-ghi_jkl"),
        ("curl -H 'Authorization: Basic dXNlcjpwYXNzd29yZA=='", "dXNlcjpwYXNzd29yZA=="),
        ("headers bearer 0123456789abcdef", "0123456789abcdef"),
        (f"key file:\n{PEM}\nrest", "MIIEowIBAAKCAQEA7"),
        ("postgresql://alice:hunter22@db.example.com:5432/prod", "hunter22"),
        ("redis://:r3dispass@cache:6379/0", "r3dispass"),
        ("Server=db;User Id=sa;Password=Sup3rS3cret;Encrypt=yes", "Sup3rS3cret"),
        ("https://maps.example.com/api?key=AbCdEf123456&q=x", "AbCdEf123456"),
        ("https://hooks.slack.com/services/T000/B000/XXXXXXXX", "T000/B000/XXXXXXXX"),
    ],
)
def test_credential_values_are_redacted(text: str, secret: str) -> None:
    redacted = redact_value(text)
    assert secret not in redacted
    assert PLACEHOLDER in redacted


def test_redaction_keeps_the_context() -> None:
    assert redact_value("postgresql://alice:hunter22@db/prod") == (
        f"postgresql://alice:{PLACEHOLDER}@db/prod"
    )
    assert redact_value("Authorization: Bearer abcdefghij") == (
        f"Authorization: Bearer {PLACEHOLDER}"
    )
    assert redact_value(f"a\n{PEM}\nb") == f"a\n{PLACEHOLDER}\nb"
    assert redact_value("-----BEGIN OPENSSH PRIVATE KEY-----\nabc") == PLACEHOLDER  # cut off


@pytest.mark.parametrize(
    "text",
    [
        "max_tokens=256, temperature=0.7",
        "https://example.com/data/train.csv?version=3",
        "postgresql://db.example.com:5432/prod",
        "git@github.com:team/repo.git",
        "Token embeddings are averaged; the bearer of news",
        "sk-learn is not a key",
        "password = read_password()",
        "connect(password=pw, user=u)",
        "AKIA is a prefix",
        "",
    ],
)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert redact_value(text) == text


def test_redact_mapping() -> None:
    params = {
        "learning_rate": 0.1,
        "max_tokens": 256,
        "tokenizer": "bert-base",
        "api_key": "plain-looking",
        "dbPassword": 12345,
        "url": "https://bob:pw123456@host/x",
        "nested": {"token": "abc", "n": 1, "items": [f"{GH}", 2]},
    }
    redacted = redact_mapping(params)
    assert redacted == {
        "learning_rate": 0.1,
        "max_tokens": 256,
        "tokenizer": "bert-base",
        "api_key": PLACEHOLDER,
        "dbPassword": PLACEHOLDER,
        "url": f"https://bob:{PLACEHOLDER}@host/x",
        "nested": {"token": PLACEHOLDER, "n": 1, "items": [PLACEHOLDER, 2]},
    }
    assert params["api_key"] == "plain-looking"  # a copy


CELL = '''
import os
api_key = "plain-looking-key"
self_cfg.password = 'hunter2'
os.environ["HF_TOKEN"] = "not-obviously-a-token"
user, db_password = "alice", "s3cret"
client = connect(host="db", password="pw-kw", max_tokens=256)
settings = {"api_key": "dict-secret", "model": "gpt", "nested": {"secret": b"bytes!"}}
token = os.getenv("GITHUB_TOKEN", "fallback-token")
auth = f"user:{user}"
def login(name, password="default-pw", *, token="kw-default"):
    return name
if password == "compare-me":
    pass
tokenizer = "bert-base-uncased"
max_tokens = 512
key = "species"
url = "postgresql://bob:dbpass99@host/db"
note = "a" \\
    "b"
'''


def test_redact_code() -> None:
    out = redact_code(CELL)
    for secret in ("plain-looking-key", "hunter2", "not-obviously-a-token", "s3cret", "pw-kw",
                   "dict-secret", "bytes!", "fallback-token", "user:{user}", "default-pw",
                   "kw-default", "compare-me", "dbpass99"):
        assert secret not in out, secret
    for kept in ('"alice"', '"db"', "max_tokens=256", '"gpt"', '"GITHUB_TOKEN"', '"HF_TOKEN"',
                 '"bert-base-uncased"', "max_tokens = 512", 'key = "species"', "bob:"):
        assert kept in out, kept
    assert 'api_key = "<redacted>"' in out
    assert 'b"<redacted>"' in out
    ast.parse(out)  # still valid Python
    assert out.count("\n") == CELL.count("\n")


def test_redact_code_with_non_ascii_and_ipython_syntax() -> None:
    cell = '%%time\nlabel = "héllo ✓"; password = "päss"\n!ls -la\nx = {"token": "t0k"}\n'
    out = redact_code(cell)
    assert "päss" not in out and "t0k" not in out
    assert 'label = "héllo ✓"' in out and "%%time" in out and "!ls -la" in out


def test_redact_code_never_raises() -> None:
    broken = f'password = "open\nx = ({GH}'
    assert GH not in redact_code(broken)
    assert redact_code("") == ""
    assert redact_code("x = 1\n") == "x = 1\n"
    assert redact_code("def f(:\n    pass") == "def f(:\n    pass"
    assert redact_code("\x00") == "\x00"


def test_inner_literals_of_a_redacted_fstring() -> None:
    out = redact_code('token = f"{os.getenv(\'API_TOKEN\', \'inner\')}-x"\n')
    assert out == f'token = "{PLACEHOLDER}"\n'


def test_lines_of_a_diff_lose_the_values_of_secret_keys() -> None:
    diff = (
        "--- a/.env\n+++ b/.env\n@@ -1,2 +1,2 @@\n"
        "-API_TOKEN=old-value-1234\n+API_TOKEN=new-value-5678\n"
        " export API_KEY=kept-in-context-90\n"
        '+password = "hunter2hunter2"\n'
        '+  "api_key": "json-value-11",\n'
        "+db_password: yaml-value-22\n"
        '+cfg = {"lr": 0.1, "client_secret": "inline-33"}\n'
        "+lr = 0.1\n"
    )
    safe = redact_lines(diff)
    for value in ("old-value-1234", "new-value-5678", "kept-in-context-90", "hunter2hunter2",
                  "json-value-11", "yaml-value-22", "inline-33"):
        assert value not in safe
    assert "+lr = 0.1\n" in safe and safe.startswith("--- a/.env\n+++ b/.env\n")
    assert safe.count("\n") == diff.count("\n")


def test_values_of_secret_environment_variables_are_secrets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DB_PASSWORD", "s3cr3t-from-the-env")
    monkeypatch.setenv("SHORT_TOKEN", "dev")  # too short to tell from chance
    monkeypatch.setenv("HOME_DIR_NAME", "not-a-secret-at-all")
    text = "connect failed: s3cr3t-from-the-env rejected for dev at not-a-secret-at-all"
    assert redact_value(text) == (
        f"connect failed: {PLACEHOLDER} rejected for dev at not-a-secret-at-all")


def test_values_the_namespace_holds_under_secret_names() -> None:
    namespace = {
        "db_password": "s3cr3t-pw", "api_key": "k3y", "token": 42,  # too short; not text
        "creds": {"user": "ana-login", "pin": 1234},  # every text of a secret-named dict
        "settings": {"client_secret": "cl13nt", "host": "db.example.com"},
        "max_tokens": "4096", "name": "some-name", "PWD": "/home/ana",
        "vocab": {f"w{i}": "secret_value" for i in range(1000)},  # too big to be a config
    }
    assert namespace_secrets(namespace) == ("ana-login", "s3cr3t-pw", "cl13nt")
    text = f"login as ana-login with s3cr3t-pw failed ({GH}) on db.example.com"
    assert redact_known(text, namespace_secrets(namespace)) == (
        f"login as {PLACEHOLDER} with {PLACEHOLDER} failed ({PLACEHOLDER}) on db.example.com")
