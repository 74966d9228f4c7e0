"""A throwaway self-signed certificate for LocalCave's HTTPS endpoint on 127.0.0.1.

Made with ``cryptography`` (imported here, inside the function) for one LocalCave's lifetime:
an EC P-256 key, a certificate for ``IP:127.0.0.1`` valid for a day, and the base64 SHA-256 of
its public key, which Chromium's ``--ignore-certificate-errors-spki-list`` takes to trust this
certificate alone.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import ipaddress
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Certificate:
    """A server certificate: PEM text, and the SPKI hash browsers can be told to trust."""

    cert_pem: bytes
    key_pem: bytes
    spki_sha256: str

    def server_context(self) -> ssl.SSLContext:
        """An SSL context serving this certificate (TLS 1.2 or later)."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        with tempfile.TemporaryDirectory(prefix="localcave-tls-") as folder:
            cert, key = Path(folder) / "cert.pem", Path(folder) / "key.pem"
            cert.write_bytes(self.cert_pem)
            key.write_bytes(self.key_pem)
            ctx.load_cert_chain(cert, key)  # read now; the files go with the folder
        return ctx


def self_signed(host: str = "127.0.0.1") -> Certificate:
    """A new self-signed certificate for the IP address ``host``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "LocalCave")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host))]),
                       critical=False)
        .sign(key, hashes.SHA256())
    )
    spki = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return Certificate(
        cert_pem=cert.public_bytes(serialization.Encoding.PEM),
        key_pem=key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        spki_sha256=base64.b64encode(hashlib.sha256(spki).digest()).decode(),
    )
