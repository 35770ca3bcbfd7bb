"""The site's settings in the manifests (a ConfigMap of ``LOOKOUT_*`` variables and Secrets)
are settings Lookout knows and accepts: a misspelt or removed one fails here, not in a pod."""

from __future__ import annotations

import pytest
from k8s_manifests import Manifest, build, one
from pydantic import BaseModel

from lookout.config import Settings, validate_settings

SAMPLE_SECRETS = {
    ("lookout-database", "url"): "postgresql+psycopg://lookout:pw@db.example.org:5432/lookout",
    ("lookout-nats-client", "site-url"): "nats://site:pw@lookout-nats:4222",
}


def site_environment(objects: list[Manifest]) -> dict[str, str]:
    """The environment of the site container, Secrets replaced by samples."""
    site = one(objects, "StatefulSet", "lookout-site")
    (container,) = site["spec"]["template"]["spec"]["containers"]
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        env.update(one(objects, "ConfigMap", source["configMapRef"]["name"])["data"])
    for e in container.get("env", []):
        ref = e.get("valueFrom", {}).get("secretKeyRef")
        env[e["name"]] = SAMPLE_SECRETS[ref["name"], ref["key"]] if ref else e["value"]
    return env


def settings_of(overlay: str, monkeypatch: pytest.MonkeyPatch) -> Settings:
    import os

    for name in list(os.environ):
        if name.startswith("LOOKOUT_"):
            monkeypatch.delenv(name)
    for name, value in site_environment(build(overlay)).items():
        monkeypatch.setenv(name, value)
    return validate_settings({})


@pytest.mark.parametrize("overlay", ["sqlite", "workers", "postgres"])
def test_the_site_settings_of_every_overlay_are_valid(
    overlay: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_of(overlay, monkeypatch)
    assert settings.listen == "0.0.0.0:8080"
    assert settings.agent_receiver.listen == "0.0.0.0:8443"
    assert settings.agent_receiver.public_url == "https://lookout.example.org:8443"
    assert settings.agent_receiver.hostnames == ["lookout.example.org"]
    assert settings.url == "https://lookout.example.org"
    expected = SAMPLE_SECRETS["lookout-database", "url"] if overlay == "postgres" else ""
    assert settings.database_url == expected


def field_of(variable: str) -> bool:
    """Does ``LOOKOUT_A__B`` name a setting? (the environment source ignores unknown top-level
    names, so validation alone would not notice ``LOOKOUT_LISTN``)"""
    model: type[BaseModel] = Settings
    for part in variable.removeprefix("LOOKOUT_").lower().split("__"):
        field = model.model_fields.get(part)
        if field is None:
            return False
        model = field.annotation if isinstance(field.annotation, type) else BaseModel
    return True


@pytest.mark.parametrize("overlay", ["sqlite", "workers", "postgres"])
def test_every_lookout_variable_names_a_setting(overlay: str) -> None:
    cli = {"LOOKOUT_URL", "LOOKOUT_TOKEN"}  # the CLI's, not the site's
    names = [n for n in site_environment(build(overlay)) if n.startswith("LOOKOUT_")]
    names = [n for n in names if n not in cli]
    assert len(names) >= 5
    assert [n for n in names if not field_of(n)] == []


def test_misspelt_settings_are_found() -> None:
    assert field_of("LOOKOUT_AGENT_RECEIVER__LISTEN")
    assert not field_of("LOOKOUT_LISTN")
    assert not field_of("LOOKOUT_AGENT_RECEIVER__LISTN")


def test_with_workers_the_site_hands_its_checks_to_the_pools(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert settings_of("sqlite", monkeypatch).execution.runner == "embedded"
    for overlay in ("workers", "postgres"):
        objects = build(overlay)
        settings = settings_of(overlay, monkeypatch)
        assert settings.execution.runner == "nats"
        assert settings.nats.url == SAMPLE_SECRETS["lookout-nats-client", "site-url"]
        nats = one(objects, "StatefulSet", "lookout-nats")
        assert settings.nats.replicas == nats["spec"]["replicas"] == 3
        pools = {
            o["spec"]["template"]["metadata"]["labels"]["lookout/pool"]
            for o in objects
            if o["kind"] == "Deployment"
        }
        assert set(settings.nats.pool_map().values()) | {"default"} <= pools
