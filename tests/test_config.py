"""Site settings: ``lookout.toml`` validation, ``LOOKOUT_*`` overrides, and what ``lookout init``
and ``lookout serve`` do with them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pydantic
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lookout.config import (
    SETTINGS_FILE,
    Settings,
    load_settings,
    parse_listen,
    render_settings,
    validate_settings,
)
from lookout.errors import ConfigError
from lookout.sites.site import init_site


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings read the environment: keep the caller's LOOKOUT_* variables out."""
    for key in list(os.environ):
        if key.startswith("LOOKOUT_"):
            monkeypatch.delenv(key)


def write(site: Path, text: str) -> Path:
    site.mkdir(parents=True, exist_ok=True)
    (site / SETTINGS_FILE).write_text(text, encoding="utf-8")
    return site


def problems_of(site: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_settings(site)
    return info.value.problems


def test_defaults(tmp_path: Path) -> None:
    s = load_settings(write(tmp_path, ""))
    assert s.listen == "127.0.0.1:8080"
    assert s.url == "http://127.0.0.1:8080"
    assert (s.flapping.low, s.flapping.high, s.flapping.enabled) == (5.0, 20.0, True)
    assert s.services.max_check_attempts == 3
    assert s.database(tmp_path) == f"sqlite:///{(tmp_path / 'lookout.db').resolve()}"


def test_values_from_the_file(tmp_path: Path) -> None:
    s = load_settings(
        write(
            tmp_path,
            """
site_name = "prod-1"
listen = "0.0.0.0:9000"
max_request_bytes = 1000
[flapping]
high = 30.5
[services]
max_check_attempts = 5
""",
        )
    )
    assert (s.site_name, s.listen, s.max_request_bytes) == ("prod-1", "0.0.0.0:9000", 1000)
    assert s.url == "http://127.0.0.1:9000"
    assert s.flapping.high == 30.5
    assert s.flapping.low == 5.0
    assert s.services.max_check_attempts == 5


def test_missing_settings_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="lookout init"):
        load_settings(tmp_path)


@pytest.mark.parametrize(
    "text", ["listen = ", "[flapping\nhigh = 1", "a = 'x'\na = 'y'", 'x = "unterminated']
)
def test_bad_toml(tmp_path: Path, text: str) -> None:
    with pytest.raises(ConfigError, match="not valid TOML") as info:
        load_settings(write(tmp_path, text))
    assert str(tmp_path / SETTINGS_FILE) in str(info.value)
    assert info.value.problems


def test_not_utf8(tmp_path: Path) -> None:
    tmp_path.joinpath(SETTINGS_FILE).write_bytes(b"site_name = '\xff'")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(tmp_path)


def test_unknown_keys(tmp_path: Path) -> None:
    problems = problems_of(
        write(tmp_path, "colour = 'blue'\n[flapping]\nhihg = 30\n[nonsense]\nx = 1\n")
    )
    assert len(problems) == 3
    text = "\n".join(problems)
    for key in ("colour", "flapping.hihg", "nonsense"):
        assert key in text


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("tick_interval = 'often'", "tick_interval"),
        ("tick_interval = 0", "tick_interval"),
        ("max_request_bytes = 1.5", "max_request_bytes"),
        ("demo = 'perhaps'", "demo"),
        ("sqlite_synchronous = 'OFF'", "sqlite_synchronous"),
        ("sqlite_busy_timeout = 0", "sqlite_busy_timeout"),
        ("site_name = 'Has Spaces'", "site_name"),
        ("flapping = 5", "flapping"),
        ("[flapping]\nhigh = 101", "flapping.high"),
        ("[flapping]\nenabled = 'yes please'", "flapping.enabled"),
        ("[services]\nmax_check_attempts = 0", "services.max_check_attempts"),
    ],
)
def test_wrong_types_and_ranges(tmp_path: Path, text: str, key: str) -> None:
    [problem] = problems_of(write(tmp_path, text))
    assert problem.startswith(key), problem


@pytest.mark.parametrize(
    "listen", ["8080", "localhost", "host:0", "host:65536", "host:http", ":", "host:-1"]
)
def test_bad_listen(tmp_path: Path, listen: str) -> None:
    [problem] = problems_of(write(tmp_path, f"listen = '{listen}'"))
    assert problem.startswith("listen")
    assert "HOST:PORT" in problem


def test_listen_must_be_a_string(tmp_path: Path) -> None:
    [problem] = problems_of(write(tmp_path, "listen = 8080"))
    assert problem.startswith("listen")


@pytest.mark.parametrize(
    ("listen", "host", "port", "url"),
    [
        ("127.0.0.1:80", "127.0.0.1", 80, "http://127.0.0.1:80"),
        ("0.0.0.0:8080", "0.0.0.0", 8080, "http://127.0.0.1:8080"),
        (":8080", "", 8080, "http://127.0.0.1:8080"),
        ("[::1]:9000", "::1", 9000, "http://::1:9000"),
    ],
)
def test_good_listen(listen: str, host: str, port: int, url: str) -> None:
    assert parse_listen(listen) == (host, port)
    assert validate_settings({"listen": listen}).url == url


def test_public_url_wins_for_the_url() -> None:
    s = validate_settings({"listen": "0.0.0.0:80", "public_url": "https://mon.example.org/"})
    assert s.url == "https://mon.example.org"


def test_all_problems_are_reported_together(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(
            write(
                tmp_path,
                """
listen = "nowhere"
tick_interval = -1
typo = true
[flapping]
low = "low"
[services]
stale_after = -3
""",
            )
        )
    assert "5 invalid setting(s)" in str(info.value)
    keys = sorted(p.split(" ")[0].rstrip(":") for p in info.value.problems)
    assert keys == ["flapping.low", "listen", "services.stale_after", "tick_interval", "typo"]
    # each names the value it got
    assert any("'nowhere'" in p for p in info.value.problems)


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = write(tmp_path, "tick_interval = 2.0\n[flapping]\nhigh = 25\nlow = 3\n")
    monkeypatch.setenv("LOOKOUT_TICK_INTERVAL", "0.5")
    monkeypatch.setenv("LOOKOUT_FLAPPING__HIGH", "30")
    monkeypatch.setenv("LOOKOUT_SERVICES__MAX_CHECK_ATTEMPTS", "7")
    monkeypatch.setenv("LOOKOUT_DEMO", "true")
    s = load_settings(site)
    assert s.tick_interval == 0.5
    assert s.flapping.high == 30.0
    assert s.flapping.low == 3.0  # the rest of the table still comes from the file
    assert s.services.max_check_attempts == 7
    assert s.demo is True


def test_environment_errors_name_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOOKOUT_FLAPPING__HIGH", "300")
    monkeypatch.setenv("LOOKOUT_TICK_INTERVAL", "soon")
    problems = problems_of(write(tmp_path, "listen = 'bad'"))
    assert len(problems) == 3
    text = "\n".join(problems)
    assert "flapping.high (or LOOKOUT_FLAPPING__HIGH)" in text
    assert "tick_interval (or LOOKOUT_TICK_INTERVAL)" in text
    assert "LOOKOUT_LISTEN" not in text


def test_environment_table_as_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOOKOUT_FLAPPING", '{"high": 40}')
    assert load_settings(write(tmp_path, "")).flapping.high == 40.0


def test_environment_table_not_json_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOOKOUT_FLAPPING", "high=40")
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, ""))
    assert "LOOKOUT_FLAPPING" in str(info.value) + "".join(info.value.problems)


def test_unknown_environment_variables_are_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOOKOUT_TEST_PG", "postgresql://x")
    monkeypatch.setenv("LOOKOUT_URL", "http://elsewhere")
    monkeypatch.setenv("LOOKOUT_TOKEN", "lk_x")
    assert load_settings(write(tmp_path, "")).listen == "127.0.0.1:8080"


def test_flapping_low_above_high_is_refused(tmp_path: Path) -> None:
    [problem] = problems_of(write(tmp_path, "[flapping]\nlow = 30\nhigh = 20\n"))
    assert problem.startswith("flapping")
    assert "low" in problem
    assert "high" in problem


def test_settings_are_frozen() -> None:
    s = validate_settings({})
    with pytest.raises(Exception, match="frozen"):
        s.listen = "x"  # type: ignore[misc]


@pytest.mark.parametrize(
    "public_url",
    [
        "",
        "http://a.example",
        'quote " and back\\slash',
        "new\nline\ttab\rcr",
        "del\x7fbell\x07",
        "ünïcødé 🚀",
        "\"\"\" and ''' and \\u0041 and \\",
        "nul\x00 esc\x1b nbsp\xa0 line-sep\u2028",
        "# not a comment ] [x] = 1",
    ],
)
def test_rendered_settings_read_back_the_same(tmp_path: Path, public_url: str) -> None:
    s = validate_settings(
        {
            "listen": "127.0.0.1:1234",
            "public_url": public_url,
            "flapping": {"high": 33.5},
            "max_request_bytes": 2000,
            "event_retention_days": 1e-3,
        }
    )
    text = render_settings(s)
    assert "# HOST:PORT the REST API and UI listen on." in text
    tomllib.loads(text)
    assert load_settings(write(tmp_path, text)) == s


texts = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)


@given(texts, st.lists(texts, max_size=3), st.floats(1e-9, 1e9))
def test_any_text_and_number_survive_render_and_read(
    public_url: str, hostnames: list[str], retention: float
) -> None:
    s = validate_settings(
        {
            "public_url": public_url,
            "event_retention_days": retention,
            "agent_receiver": {"hostnames": hostnames},
        },
        env=False,
    )
    assert validate_settings(tomllib.loads(render_settings(s)), env=False) == s


# ---------------------------------------------------------------------- init
def test_init_site_writes_a_valid_site(tmp_path: Path) -> None:
    created = init_site(tmp_path / "s", listen="127.0.0.1:4567", extra={"tick_interval": 0.5})
    assert created.url == "http://127.0.0.1:4567"
    assert created.token.startswith("lk_")
    s = load_settings(tmp_path / "s")
    assert (s.listen, s.tick_interval) == ("127.0.0.1:4567", 0.5)
    creds = json.loads((tmp_path / "s" / "cli.json").read_text())
    assert creds["url"] == created.url
    assert creds["token"] != created.token
    assert (tmp_path / "s" / "cli.json").stat().st_mode & 0o077 == 0
    # the settings may hold a database URL with its password: the owner's only
    assert (tmp_path / "s" / "lookout.toml").stat().st_mode & 0o077 == 0


def test_init_site_refuses_bad_settings_and_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        init_site(tmp_path / "s", listen="nowhere", extra={"bogus": 1})
    assert len(info.value.problems) == 2
    assert not (tmp_path / "s").exists()


def test_init_site_refuses_an_existing_site(tmp_path: Path) -> None:
    init_site(tmp_path / "s")
    before = (tmp_path / "s" / SETTINGS_FILE).read_text()
    with pytest.raises(ConfigError, match="site already"):
        init_site(tmp_path / "s", listen="127.0.0.1:1")
    assert (tmp_path / "s" / SETTINGS_FILE).read_text() == before


# ---------------------------------------------------------------------- the CLI
def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOKOUT_")}
    env.update(extra or {})
    return env


def lookout(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """Start ``lookout ARGS`` (several can run at once: starting Python is the slow part)."""
    return subprocess.Popen(
        [sys.executable, "-m", "lookout.cli.main", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(env),
    )


def finish(proc: subprocess.Popen[str]) -> tuple[int, str, str]:
    """Exit code, stdout, and stderr with its lines joined (rich wraps long paths)."""
    out, err = proc.communicate(timeout=60)
    return proc.returncode, out, " ".join(err.split())


@pytest.mark.integration
def test_init_json_prints_url_and_token_and_refuses_an_existing_site(tmp_path: Path) -> None:
    site = tmp_path / "site"
    code, out, err = finish(lookout("init", str(site), "--json", "--listen", "127.0.0.1:4999"))
    assert code == 0, err
    printed = json.loads(out)
    assert printed == {
        "url": "http://127.0.0.1:4999",
        "token": printed["token"],
        "password": printed["password"],  # the admin's web UI log-in (issue #6)
    }
    assert printed["token"].startswith("lk_")
    assert load_settings(site).listen == "127.0.0.1:4999"
    settings = (site / SETTINGS_FILE).read_text()

    code, out, err = finish(lookout("init", str(site), "--json"))
    assert code == 2
    assert out == ""
    assert "site already" in err
    assert (site / SETTINGS_FILE).read_text() == settings


@pytest.mark.integration
def test_serve_with_broken_settings_exits_2_naming_the_key(tmp_path: Path) -> None:
    site = tmp_path / "site"
    init_site(site, listen="127.0.0.1:4998")
    text = (site / SETTINGS_FILE).read_text()
    assert "high = 20.0" in text
    assert "demo = false" in text
    text = text.replace("high = 20.0", "high = 'very'").replace("demo = false", "colour = 1")
    (site / SETTINGS_FILE).write_text(text)
    bad_toml = write(tmp_path / "bad-toml", "listen = ")
    site2 = tmp_path / "site2"
    init_site(site2, listen="127.0.0.1:4997")
    procs = {
        "keys": lookout("serve", str(site)),
        "toml": lookout("serve", str(bad_toml)),
        "missing": lookout("serve", str(tmp_path / "nothing")),
        "env": lookout("serve", str(site2), env={"LOOKOUT_FLAPPING__HIGH": "lots"}),
        "env-json": lookout("serve", str(site2), env={"LOOKOUT_FLAPPING": "not json"}),
    }
    done = {name: finish(p) for name, p in procs.items()}
    for name, (code, _, err) in done.items():
        assert code == 2, (name, err)
        assert "Traceback" not in err, (name, err)
    assert "flapping.high = 'very'" in done["keys"][2]
    assert "colour" in done["keys"][2]
    assert "2 invalid setting(s)" in done["keys"][2]
    assert "not valid TOML" in done["toml"][2]
    assert "lookout init" in done["missing"][2]
    assert "LOOKOUT_FLAPPING__HIGH" in done["env"][2]
    assert "LOOKOUT_FLAPPING" in done["env-json"][2]


def test_settings_model_documents_every_key() -> None:
    for name, info in Settings.model_fields.items():
        assert info.description, name


@pytest.mark.integration
def test_serve_prints_values_with_brackets_verbatim(tmp_path: Path) -> None:
    site = write(tmp_path / "site", 'listen = "[bold]x"\nsite_name = "[/x]"\n')
    code, _, err = finish(lookout("serve", str(site)))
    assert code == 2, err
    assert "'[bold]x'" in err
    assert "'[/x]'" in err


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_settings_refuse_non_finite_numbers(tmp_path: Path, value: str) -> None:
    """TOML has nan and inf literals; a site must not start with a checkpoint every NaN s."""
    (tmp_path / "lookout.toml").write_text(f"checkpoint_interval = {value}\n")
    with pytest.raises(ConfigError, match="1 invalid setting") as exc:
        load_settings(tmp_path)
    assert "checkpoint_interval" in repr(exc.value.__dict__) + str(exc.value.__cause__)


def test_oidc_settings_are_checked_and_written_back(tmp_path: Path) -> None:
    """A role map is written as an inline table under [oidc] and read back; an issuer needs a
    client id and a role map, and must be https (http only to this machine)."""
    from lookout.config import OidcSettings, Settings, render_settings

    oidc = {
        "issuer": "https://id.example.org/realms/acme/",
        "client_id": "lookout",
        "role_map": {"monitoring-admins": "admin", "ops team": "operator"},
    }
    settings = Settings(oidc=OidcSettings(**oidc))  # type: ignore[arg-type]
    assert settings.oidc.issuer == "https://id.example.org/realms/acme"
    text = render_settings(settings)
    assert tomllib.loads(text)["oidc"]["role_map"] == oidc["role_map"]
    for bad, why in [
        ({**oidc, "issuer": "http://id.example.org"}, "not an https URL"),
        ({**oidc, "client_id": ""}, "client_id is needed"),
        ({**oidc, "role_map": {}}, "role_map is empty"),
        ({**oidc, "role_map": {"ops": "root"}}, "role_map.ops"),
    ]:
        with pytest.raises(pydantic.ValidationError, match=why):
            OidcSettings(**bad)
    assert OidcSettings(issuer="http://127.0.0.1:9000", client_id="c", role_map={"a": "viewer"})
