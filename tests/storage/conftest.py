"""Storage fixtures: the site schema on a SQLite file and on a throwaway PostgreSQL database."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from lookout.storage.tables import metadata

PG_SERVER_URL = os.environ.get("LOOKOUT_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/")


def _pg_url(database: str) -> sa.URL:
    return sa.make_url(PG_SERVER_URL).set(database=database)


@pytest.fixture
def series_pg_url() -> Iterator[sa.URL]:
    """A fresh PostgreSQL database ``lookout_test_series_<random>``, dropped afterwards."""
    admin = sa.create_engine(_pg_url("postgres"), isolation_level="AUTOCOMMIT")
    name = f"lookout_test_series_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa.exc.OperationalError as exc:
        admin.dispose()
        pytest.skip(f"PostgreSQL unreachable at {PG_SERVER_URL}: {str(exc).splitlines()[0]}")
    try:
        yield _pg_url(name)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    """An engine on an empty database (for migrations), a SQLite file and PostgreSQL."""
    url: str | sa.URL
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'empty.db'}"
    else:
        url = request.getfixturevalue("series_pg_url")
    engine = sa.create_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def schema_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    """An engine with the full site schema, on a SQLite file and on PostgreSQL."""
    url: str | sa.URL
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'series.db'}"
    else:
        url = request.getfixturevalue("series_pg_url")
    engine = sa.create_engine(url)
    metadata.create_all(engine)
    try:
        yield engine
    finally:
        engine.dispose()
