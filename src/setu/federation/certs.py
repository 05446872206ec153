"""TLS certificates for mutual TLS between partner instances: made here, exchanged out of band, pinned.

Each instance makes its own key and self-signed certificate (ECDSA P-256, which every TLS stack
accepts). The partner pins that exact certificate as the only one it trusts for the link
(``ssl_ca_certs``), so no certificate authority, theirs or a public one, can speak for the instance.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from setu.federation.identity import FederationError

VALID_DAYS = 825
"""How long a link certificate is valid: the longest CA/Browser Forum practice allowed, renewed by re-pinning."""


def make_certificate(party: str, hosts: list[str], *, days: int = VALID_DAYS) -> tuple[bytes, bytes]:
    """A new key and a self-signed certificate for the instance of ``party``, valid for ``hosts``.

    Parameters
    ----------
    party
        The instance's party (the certificate's organization).
    hosts
        DNS names or IP addresses the instance answers on (subject alternative names).
    days
        Validity.

    Returns
    -------
    tuple of bytes
        The certificate and the private key, both PEM.

    Examples
    --------
    >>> cert, key = make_certificate("IN", ["127.0.0.1", "setu.in.example"])
    >>> cert.startswith(b"-----BEGIN CERTIFICATE-----")
    True
    """
    if not hosts:
        raise FederationError("a certificate needs at least one host name or address (--host)")
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, f"Setu instance of {party}"),
            x509.NameAttribute(NameOID.COMMON_NAME, hosts[0]),
        ]
    )
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return certificate.public_bytes(serialization.Encoding.PEM), key_pem


def write_certificate(folder: Path, party: str, hosts: list[str]) -> tuple[Path, Path]:
    """Make a certificate (:func:`make_certificate`); write it to ``folder`` as ``instance.crt`` and ``instance.key``.

    The key file is created ``0600``; an existing certificate is never overwritten (remove it first).
    """
    folder.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = folder / "instance.crt", folder / "instance.key"
    for path in (cert_path, key_path):
        if path.exists():
            raise FederationError(f"{path} exists; remove it first to make a new certificate (then re-pin it)")
    cert_pem, key_pem = make_certificate(party, hosts)
    descriptor = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(key_pem)
    cert_path.write_bytes(cert_pem)
    return cert_path, key_path


def load_certificate(pem: str, *, source: str = "the certificate") -> x509.Certificate:
    """A PEM certificate parsed, or a precise error naming ``source``."""
    try:
        return x509.load_pem_x509_certificate(pem.encode())
    except ValueError as error:
        raise FederationError(f"{source} is not a PEM certificate: {error}") from None


def certificate_fingerprint(pem: str) -> str:
    """SHA-256 of the certificate's DER form, in eight groups of eight hex digits."""
    der = load_certificate(pem).public_bytes(serialization.Encoding.DER)
    digest = hashlib.sha256(der).hexdigest()
    return " ".join(digest[i : i + 8] for i in range(0, 64, 8))
