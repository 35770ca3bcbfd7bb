"""The agent's trust decisions: fingerprints, pinning, keys and CSRs."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID
from lookout_agent import tls

from lookout.sources.agent_receiver.ca import SiteCA


@pytest.fixture
def ca(tmp_path: Path) -> SiteCA:
    return SiteCA.ensure(tmp_path, "test")


def test_fingerprint_matches_the_site_ca(ca: SiteCA) -> None:
    assert tls.fingerprint(ca.pem) == ca.fingerprint
    tls.check_pinned(ca.pem, ca.fingerprint)


@pytest.mark.parametrize(
    "variant",
    [
        lambda fp: fp.upper().replace("SHA256:", "sha256:"),
        lambda fp: fp.removeprefix("SHA256:"),
        lambda fp: ":".join(fp[7:][i : i + 2] for i in range(0, 64, 2)),
    ],
)
def test_fingerprint_spellings(ca: SiteCA, variant: object) -> None:
    assert tls.normalize_fingerprint(variant(ca.fingerprint)) == ca.fingerprint  # type: ignore[operator]


@pytest.mark.parametrize("bad", ["", "SHA256:abc", "MD5:" + "a" * 64, "g" * 64])
def test_bad_fingerprints_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="fingerprint"):
        tls.normalize_fingerprint(bad)


def test_another_ca_is_not_trusted(ca: SiteCA, tmp_path: Path) -> None:
    other = SiteCA.ensure(tmp_path / "other", "other")
    with pytest.raises(tls.TrustError, match="refusing to trust"):
        tls.check_pinned(other.pem, ca.fingerprint)


def test_a_leaf_certificate_is_not_a_ca(ca: SiteCA) -> None:
    key = tls.new_key()
    issued = ca.sign_agent(tls.csr_pem(key, tls.new_uuid()), 1)
    with pytest.raises(tls.TrustError, match="not a CA"):
        tls.check_pinned(issued.pem, tls.fingerprint(issued.pem))


def test_csr_carries_the_uuid_and_the_ca_signs_for_clients_only(ca: SiteCA) -> None:
    key = tls.new_key()
    agent_id = tls.new_uuid()
    issued = ca.sign_agent(tls.csr_pem(key, agent_id), 365)
    cert = x509.load_pem_x509_certificate(issued.pem.encode())
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == agent_id
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert [u.dotted_string for u in eku] == ["1.3.6.1.5.5.7.3.2"]  # clientAuth
    start, end = tls.cert_times(issued.pem)
    assert 364 * 86400 < end - start < 366 * 86400


def test_csr_without_uuid_is_refused(ca: SiteCA) -> None:
    from lookout.sources.agent_receiver.ca import CsrError

    with pytest.raises(CsrError, match="UUID"):
        ca.sign_agent(tls.csr_pem(tls.new_key(), "web01"), 1)
    with pytest.raises(CsrError, match="PEM"):
        ca.sign_agent("not a csr", 1)
    with pytest.raises(CsrError, match="not this agent"):
        ca.sign_agent(tls.csr_pem(tls.new_key(), tls.new_uuid()), 1, expect_uuid=tls.new_uuid())


def test_site_ca_files_and_modes(ca: SiteCA, tmp_path: Path) -> None:
    assert (tmp_path / "ca" / "ca.key").stat().st_mode & 0o777 == 0o600
    cert, key = ca.server_cert(["localhost", "127.0.0.1"])
    assert key.stat().st_mode & 0o777 == 0o600
    again = ca.server_cert(["localhost", "127.0.0.1"])
    assert again == (cert, key)
    before = cert.read_bytes()
    ca.server_cert(["localhost", "127.0.0.1", "lookout.example"])  # names changed: re-issued
    assert cert.read_bytes() != before
    assert SiteCA.ensure(tmp_path, "test").fingerprint == ca.fingerprint  # loaded, not re-made
