"""The site's ResourceQuota holds everything an overlay runs, with a rolling update's extra
pod per Deployment and the update Job on top (seed 003: a tenant's namespace gets a fair
share, not the cluster)."""

from __future__ import annotations

import re
from fractions import Fraction

import pytest
from k8s_manifests import Manifest, build, one, pod_spec

UNITS: dict[str, Fraction] = {
    "m": Fraction(1, 1000),
    "": Fraction(1),
    "Ki": Fraction(2**10),
    "Mi": Fraction(2**20),
    "Gi": Fraction(2**30),
}


def quantity(text: str | int) -> Fraction:
    found = re.fullmatch(r"([0-9.]+)([A-Za-z]*)", str(text))
    assert found is not None, text
    return Fraction(found[1]) * UNITS[found[2]]


def pod_needs(spec: Manifest, kind: str, resource: str) -> Fraction:
    """What the quota charges for one pod: the larger of any init container and the sum of
    the containers."""
    main = sum((quantity(c["resources"][kind][resource]) for c in spec["containers"]), Fraction(0))
    init = [quantity(c["resources"][kind][resource]) for c in spec.get("initContainers", [])]
    return max([main, *init])


def charged(objects: list[Manifest], kind: str, resource: str) -> Fraction:
    total = Fraction(0)
    for obj in objects:
        spec = pod_spec(obj)
        if spec is None:
            continue
        pods = obj["spec"].get("replicas", 1)
        if obj["kind"] == "Deployment":
            pods += obj["spec"]["strategy"]["rollingUpdate"]["maxSurge"]
        total += pods * pod_needs(spec, kind, resource)
    return total


def claims(objects: list[Manifest]) -> list[Fraction]:
    return [
        quantity(t["spec"]["resources"]["requests"]["storage"])
        for o in objects
        if o["kind"] == "StatefulSet"
        for _ in range(o["spec"]["replicas"])
        for t in o["spec"]["volumeClaimTemplates"]
    ]


@pytest.mark.parametrize(
    ("overlays", "pods"),
    [(["sqlite"], 1), (["workers"], 10), (["postgres", "postgres/update"], 12)],
)
def test_the_quota_holds_each_overlay_during_an_update(overlays: list[str], pods: int) -> None:
    objects = [o for overlay in overlays for o in build(overlay)]
    hard = one(objects, "ResourceQuota", "lookout")["spec"]["hard"]
    running = sum(
        o["spec"].get("replicas", 1)
        + (o["spec"]["strategy"]["rollingUpdate"]["maxSurge"] if o["kind"] == "Deployment" else 0)
        for o in objects
        if pod_spec(o) is not None
    )
    assert running == pods
    assert running <= int(hard["pods"])
    for kind in ("requests", "limits"):
        for resource in ("cpu", "memory"):
            assert charged(objects, kind, resource) <= quantity(hard[f"{kind}.{resource}"]), (
                kind,
                resource,
            )
    assert len(claims(objects)) <= int(hard["persistentvolumeclaims"])
    assert sum(claims(objects), Fraction(0)) <= quantity(hard["requests.storage"])


def test_quantities() -> None:
    assert quantity("250m") == Fraction(1, 4)
    assert quantity("2") == 2
    assert quantity("1.5Gi") == 3 * 2**29
    assert quantity(3) == 3
