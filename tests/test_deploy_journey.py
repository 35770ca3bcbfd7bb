"""deploy/kubernetes/journey-cronjob.yaml: its journey is valid, and every ${env:NAME} the
journey reads is set in the CronJob's container."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from lookout.checks.journeys.loader import load_text

MANIFEST = Path(__file__).parent.parent / "deploy/kubernetes/journey-cronjob.yaml"


def _objects() -> dict[str, Any]:
    return {o["kind"]: o for o in yaml.safe_load_all(MANIFEST.read_text()) if o}


def test_the_cronjob_runs_a_valid_journey_with_its_environment() -> None:
    objects = _objects()
    text = objects["ConfigMap"]["data"]["shop.yaml"]
    journey = load_text(text, "shop.yaml")
    assert journey.host == "shop.example.org"
    pod = objects["CronJob"]["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["args"][:3] == ["journey", "run", "/journeys/shop.yaml"]
    env = {e["name"] for e in container["env"]}
    assert {"LOOKOUT_URL", "LOOKOUT_TOKEN"} <= env
    assert set(re.findall(r"\$\{env:(\w+)\}", text)) <= env
    assert pod["volumes"][0]["configMap"]["name"] == objects["ConfigMap"]["metadata"]["name"]
