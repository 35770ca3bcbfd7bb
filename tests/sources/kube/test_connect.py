"""Verifying a cluster and the advice for each way it fails, against the local Kubernetes API
server over real TLS: which problem, in words, and which step to take."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from kubeapi import KubeApi, Running, make_pki, serve
from kubedata import TOKEN

from livesite import free_port
from lookout.sources.kube.connect import Advice, advice, verify
from lookout.sources.kube.credentials import Credentials, Origin
from lookout.sources.kube.errors import ServerError, TlsFailure, Unauthorized, Unreachable
from lookout.sources.kube.resources import required_permissions

pytestmark = pytest.mark.integration
FLAGS = Origin(token="--token-file /etc/lookout/token", ca="--ca-file /etc/lookout/ca.crt")


async def _advice(creds: Credentials, origin: Origin = FLAGS) -> tuple[type[Exception], Advice]:
    v = await verify(creds)
    assert v.failure is not None
    assert not v.ok
    return type(v.failure), advice(v.failure, creds, origin)


async def test_a_usable_cluster_has_no_failure_and_every_permission(creds: Credentials) -> None:
    v = await verify(creds)
    assert (v.failure, v.error, v.version) == (None, "", "v1.35.0")
    assert len(v.permissions) == len(required_permissions())
    assert v.missing == []
    assert v.ok


async def test_a_refused_token_names_its_origin(creds: Credentials) -> None:
    kind, said = await _advice(Credentials(creds.server, token="wr0ng", ca_data=creds.ca_data))
    assert kind is Unauthorized
    assert said.problem.startswith("the API server refused the token (401 Unauthorized)")
    assert said.steps[0].startswith("the token came from --token-file /etc/lookout/token")
    assert said.steps[1].startswith("kubectl -n lookout-monitoring get secret lookout-token")


async def test_a_failing_api_server_is_not_blamed_on_the_token(
    api: KubeApi, creds: Credentials
) -> None:
    api.fail["/version"] = 500
    kind, said = await _advice(creds)
    assert kind is ServerError
    assert said.problem == "the API server failed: GET /version: 500 InternalError: injected 500"


async def test_no_ca_and_another_ca(creds: Credentials, tmp_path: Path) -> None:
    kind, said = await _advice(Credentials(creds.server, token=TOKEN))
    assert kind is TlsFailure
    assert "no cluster CA was given" in said.problem
    assert "unable to get local issuer certificate" in said.problem
    assert said.steps[0].startswith("pass the cluster's CA with --ca-file")
    other = Credentials(creds.server, token=TOKEN, ca_data=_other_ca(tmp_path))
    _, said = await _advice(other)
    assert said.problem.startswith(
        "the API server's certificate is not signed by the CA from --ca-file /etc/lookout/ca.crt"
    )


def _other_ca(tmp: Path) -> str:
    return make_pki(tmp / "other").ca_pem


@pytest.fixture
def elsewhere(api: KubeApi, tmp_path: Path) -> Iterator[Running]:
    """The same API server with a certificate for another name only."""
    yield from serve(api, tmp_path / "elsewhere", hosts=("api.elsewhere.example",))


async def test_a_certificate_for_another_name(elsewhere: Running) -> None:
    creds = Credentials(elsewhere.url, token=TOKEN, ca_data=elsewhere.pki.ca_pem)
    kind, said = await _advice(creds)
    assert kind is TlsFailure
    assert said.problem.startswith(
        "the API server's certificate is not valid for the name 127.0.0.1"
    )


async def test_an_unreachable_server_names_the_url_once() -> None:
    url = f"https://127.0.0.1:{free_port()}"
    kind, said = await _advice(Credentials(url, token=TOKEN))
    assert kind is Unreachable
    assert said.problem == f"cannot reach {url}: connection refused"
    assert url not in " ".join(said.steps)
