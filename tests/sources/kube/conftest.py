"""Fixtures: the local Kubernetes API server and credentials for it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from kubeapi import ALL, KubeApi, Running, serve
from kubedata import TOKEN

from lookout.sources.kube.credentials import Credentials


@pytest.fixture
def api() -> KubeApi:
    return KubeApi(tokens={TOKEN: {ALL}})


@pytest.fixture
def server(api: KubeApi, tmp_path: Path) -> Iterator[Running]:
    yield from serve(api, tmp_path)


@pytest.fixture
def creds(server: Running) -> Credentials:
    return Credentials(server=server.url, token=TOKEN, ca_data=server.pki.ca_pem)
