"""A broken config never prints a secret: not a value that came from ${VAR} or *_FILE, not a URL's credentials or
tokens, whether the key is misspelt, the type wrong or the value malformed. Each case also names the key."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tracker.cli import app
from tracker.config import ConfigError, load_config

PASSWORD = "Vc-pa55w0rd-7781"
HOOK_TOKEN = "T0AAA/B0BBB/XyZsecretHookToken42"
DEPOT_TOKEN = "dlTok3n-9a8b7c6d"
SMTP_PASSWORD = "smtp-S3cret-55"
SOURCE = '{id: kb, kind: kb_build_table, url: "http://127.0.0.1:1/kb.html", product: esxi}'
SECRETS = (PASSWORD, HOOK_TOKEN, DEPOT_TOKEN, SMTP_PASSWORD)

# (what is wrong, the config's text after `sources:`, the key the message must name)
CORPUS = [
    ("a misspelt password key", "vcenters:\n  lab: {host: vc, user: u, pasword: '${VC_PASSWORD}'}\n", "pasword"),
    ("a misspelt key, inline", f"vcenters:\n  lab: {{host: vc, user: u, passwrd: '{PASSWORD}'}}\n", "passwrd"),
    (
        "url instead of urls",
        "channels:\n  ops: {url: 'https://hooks.slack.com/services/${HOOK}'}\n",
        "channels.ops.url",
    ),
    (
        "url instead of urls, inline",
        f"channels:\n  ops: {{url: 'https://hooks.slack.com/services/{HOOK_TOKEN}'}}\n",
        "url",
    ),
    ("urls as a plain string", "channels:\n  ops: {urls: 42, extra: '${HOOK}'}\n", "channels.ops"),
    (
        "a depot URL without a scheme",
        "  - {id: depot, kind: depot_index, url: 'dl.broadcom.com/${DEPOT}/vmw-depot-index.xml', product: esxi}\n",
        "sources[1] (id depot).url",
    ),
    (
        "a depot URL without a scheme, inline",
        f"  - {{id: depot, kind: depot_index, url: 'dl.broadcom.com/{DEPOT_TOKEN}/index.xml', product: esxi}}\n",
        "url",
    ),
    (
        "a source URL with credentials and a bad kind",
        f"  - {{id: d, kind: depot, url: 'https://user:{PASSWORD}@dl.example.com/x?token={DEPOT_TOKEN}', "
        "product: esxi}\n",
        "sources[1] (id d).kind",
    ),
    (
        "a secret in a number field",
        "vcenters:\n  lab: {host: vc, user: u, password: x, port: '${VC_PASSWORD}'}\n",
        "port",
    ),
    (
        "a secret in a boolean field",
        "vcenters:\n  lab: {host: vc, user: u, password: x, verify_tls: '${VC_PASSWORD}'}\n",
        "verify_tls",
    ),
    ("a secret as a time zone", "timezone: '${VC_PASSWORD}'\n", "timezone"),
    ("a secret as an interval", "http: {timeout: '${DEPOT}'}\n", "http.timeout"),
    ("a secret as a database URL of the wrong type", "database: ['${SMTP}']\n", "database"),
    ("a secret as a channel name in a watchlist", "watchlists:\n  - {name: w, immediate: ['${HOOK}']}\n", "immediate"),
    ("a secret as a severity", "watchlists:\n  - {name: w, min_severity: '${SMTP}'}\n", "min_severity"),
    ("a secret as an event kind", "watchlists:\n  - {name: w, events: ['${SMTP}']}\n", "events"),
    ("a secret as a source id", "  - {id: '${DEPOT}!', kind: feed, url: 'http://x', product: esxi}\n", "id"),
    (
        "a mailto URL with a password, misspelt key",
        f"channels:\n  mail: {{ulrs: ['mailtos://u:{SMTP_PASSWORD}@mail.example.com']}}\n",
        "ulrs",
    ),
    (
        "an unknown top-level key holding a URL",
        f"notify:\n  hook: 'https://hooks.slack.com/services/{HOOK_TOKEN}'\n",
        "notify",
    ),
    (
        "a secret file's value in a bad field",
        "vcenters:\n  lab: {host: vc, user: u, password: x, port: '${FROMFILE}'}\n",
        "port",
    ),
    ("a secret under a misspelt section", "servise: {tick: '${VC_PASSWORD}'}\n", "servise"),
    ("a secret as a digest schedule", "digest: {schedule: '${DEPOT}'}\n", "digest.schedule"),
]


@pytest.fixture
def secret_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VC_PASSWORD", PASSWORD)
    monkeypatch.setenv("HOOK", HOOK_TOKEN)
    monkeypatch.setenv("DEPOT", DEPOT_TOKEN)
    monkeypatch.setenv("SMTP", SMTP_PASSWORD)
    secret_file = tmp_path / "secret"
    secret_file.write_text(PASSWORD + "\n", encoding="utf-8")
    monkeypatch.setenv("FROMFILE_FILE", str(secret_file))


def write(tmp_path: Path, rest: str) -> Path:
    path = tmp_path / "tracker.yaml"
    head = f"sources:\n  - {SOURCE}\n"
    path.write_text(head + rest, encoding="utf-8")  # a "  - ..." rest adds a second source
    return path


def leaks(text: str) -> list[str]:
    return [s for s in SECRETS if s in text or s.split("/")[-1] in text]


@pytest.mark.parametrize(("case", "rest", "key"), CORPUS, ids=[c[0] for c in CORPUS])
def test_a_broken_config_names_the_key_and_never_prints_a_secret(
    tmp_path: Path, secret_env: None, case: str, rest: str, key: str
):
    with pytest.raises(ConfigError) as caught:
        load_config(str(write(tmp_path, rest)))
    message = str(caught.value)
    assert key in message, message
    assert leaks(message) == []


def test_the_whole_corpus_leaks_nothing_through_the_cli(tmp_path: Path, secret_env: None):
    runner = CliRunner()
    leaked = []
    for index, (case, rest, _key) in enumerate(CORPUS):
        folder = tmp_path / str(index)
        folder.mkdir()
        result = runner.invoke(app, ["--config", str(write(folder, rest)), "sources"])
        assert result.exit_code == 2, (case, result.output)
        leaked += [(case, s) for s in leaks(result.output)]
    assert leaked == []


def test_a_misspelt_key_is_named_with_the_key_it_probably_meant(tmp_path: Path, secret_env: None):
    with pytest.raises(ConfigError) as caught:
        load_config(str(write(tmp_path, CORPUS[0][1])))
    assert "vcenters.lab.pasword: unknown key (did you mean 'password'?)" in str(caught.value)
    assert "Extra inputs" not in str(caught.value)


def test_a_url_in_an_error_shows_where_it_points_not_what_it_carries(tmp_path: Path, secret_env: None):
    path = write(
        tmp_path, "  - {id: d, kind: feed, url: 'ftp://user:pw@files.example.com/x?token=abc', product: esxi}\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_config(str(path))
    assert "sources[1] (id d).url" in str(caught.value)
    assert "ftp://files.example.com/***" in str(caught.value)
    assert "pw@" not in str(caught.value) and "abc" not in str(caught.value)


BOMB = "a: &a ['lol','lol','lol','lol','lol','lol','lol','lol','lol']\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8)
)


def test_a_yaml_alias_bomb_is_refused_before_it_grows(tmp_path: Path):
    path = tmp_path / "bomb.yaml"
    path.write_text(BOMB, encoding="utf-8")
    assert len(BOMB) < 2_000
    with pytest.raises(ConfigError) as caught:
        load_config(str(path))
    assert "aliases" in str(caught.value)


def test_a_few_anchors_for_shared_settings_still_work(tmp_path: Path):
    path = tmp_path / "tracker.yaml"
    path.write_text(
        f"sources:\n  - {SOURCE}\n"
        "channels:\n  ops: {urls: ['json://127.0.0.1:1/hook']}\n"
        "watchlists:\n"
        "  - &prod {name: prod, lines: ['7.0'], immediate: [ops]}\n"
        "  - {<<: *prod, name: prod-8, lines: ['8.0']}\n",
        encoding="utf-8",
    )
    config = load_config(str(path))
    assert [(w.name, w.lines, w.immediate) for w in config.watchlists] == [
        ("prod", ("7.0",), ("ops",)),
        ("prod-8", ("8.0",), ("ops",)),
    ]


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda p: p.mkdir(), "is a directory"),
        (lambda p: p.write_bytes(b"database: '\xff\xfe caf\xe9'\n"), "not UTF-8"),
    ],
    ids=["a directory", "not UTF-8"],
)
def test_an_unreadable_config_is_one_message_not_a_traceback(tmp_path: Path, make, expected: str):
    path = tmp_path / "tracker.yaml"
    make(path)
    result = CliRunner().invoke(app, ["--config", str(path), "sources"])
    assert result.exit_code == 2
    assert expected in result.output and "Traceback" not in result.output
