"""A throwaway certificate authority for serving HTTPS on this machine.

``bedrockctl demo`` and ``bedrockctl serve --tls self-signed`` need HTTPS: botocore 1.44 and later send a bearer
token (``AWS_BEARER_TOKEN_BEDROCK``) only to ``https://`` endpoints. ``ensure_local_tls(directory)`` writes a CA
(key + certificate) and a server certificate signed by it for ``localhost``, ``127.0.0.1`` and ``::1`` (plus any
host asked for), every file mode 0600. Clients trust the CA file (``verify=`` / ``AWS_CA_BUNDLE``), never "no
verification". The CA is name-constrained to those hosts, so its key, if it ever leaked, could not vouch for any
other name. Files that are still valid (for at least ``MIN_REMAINING``) are reused, so a CA a user exported as
``AWS_CA_BUNDLE`` keeps working across restarts; a server certificate near its end is re-issued by the same CA.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from bedrockctl.files import private_dir, write_private

DEFAULT_HOSTS = ("localhost", "127.0.0.1", "::1")
CA_CERT, CA_KEY, SERVER_CERT, SERVER_KEY = "ca.pem", "ca-key.pem", "server.pem", "server-key.pem"
CA_DAYS, SERVER_DAYS = 365, 90
MIN_REMAINING = dt.timedelta(days=1)
BACKDATE = dt.timedelta(minutes=5)  # tolerate a client clock a little behind ours

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class LocalTLS:
    """The files of a local CA and of the server certificate it signed."""

    directory: Path
    hosts: tuple[str, ...]
    not_after: dt.datetime  # of the server certificate
    created: bool  # False when every file was reused

    @property
    def ca_cert(self) -> Path:
        return self.directory / CA_CERT

    @property
    def ca_key(self) -> Path:
        return self.directory / CA_KEY

    @property
    def cert(self) -> Path:
        return self.directory / SERVER_CERT

    @property
    def key(self) -> Path:
        return self.directory / SERVER_KEY

    def client_context(self) -> ssl.SSLContext:
        """A verifying client context that trusts this CA (hostname checks on)."""
        return ssl.create_default_context(cafile=str(self.ca_cert))


def ensure_local_tls(
    directory: Path, hosts: Iterable[str] = DEFAULT_HOSTS, *, now: dt.datetime | None = None
) -> LocalTLS:
    """Reuse the CA and server certificate in ``directory`` if still valid for ``hosts``, else create them."""
    now = now or dt.datetime.now(dt.UTC)
    wanted = tuple(dict.fromkeys([*DEFAULT_HOSTS, *hosts]))
    private_dir(directory)
    ca = _load_ca(directory, wanted, now)
    created = ca is None
    if ca is None:
        ca = _new_ca(wanted, now)
        write_private(directory / CA_KEY, _key_pem(ca[1]))
        write_private(directory / CA_CERT, ca[0].public_bytes(serialization.Encoding.PEM))
    leaf = None if created else _load_leaf(directory, ca[0], wanted, now)
    if leaf is None:
        created = True
        leaf = _new_leaf(ca, wanted, now)
        write_private(directory / SERVER_KEY, _key_pem(leaf[1]))
        write_private(directory / SERVER_CERT, leaf[0].public_bytes(serialization.Encoding.PEM))
    for name in (CA_KEY, CA_CERT, SERVER_KEY, SERVER_CERT):  # reused files too: never wider than 0600
        (directory / name).chmod(0o600)
    return LocalTLS(directory, wanted, leaf[0].not_valid_after_utc, created)


# -- building ----------------------------------------------------------------------------------------------
def _parse_host(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _san(hosts: Iterable[str]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = []
    for host in hosts:
        ip = _parse_host(host)
        names.append(x509.IPAddress(ip) if ip is not None else x509.DNSName(host))
    return names


def _permitted(hosts: Iterable[str]) -> list[x509.GeneralName]:
    out: list[x509.GeneralName] = []
    for host in hosts:
        ip = _parse_host(host)
        out.append(x509.IPAddress(ipaddress.ip_network(ip)) if ip is not None else x509.DNSName(host))
    return out


def _new_ca(hosts: tuple[str, ...], now: dt.datetime) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "bedrockctl"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"bedrockctl local CA {now:%Y-%m-%d %H:%M:%S}"),
        ]
    )
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + dt.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.NameConstraints(permitted_subtrees=_permitted(hosts), excluded_subtrees=None), True)
        .add_extension(ski, critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def _new_leaf(
    ca: tuple[x509.Certificate, ec.EllipticCurvePrivateKey], hosts: tuple[str, ...], now: dt.datetime
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    ca_cert, ca_key = ca
    key = ec.generate_private_key(ec.SECP256R1())
    not_after = min(now + dt.timedelta(days=SERVER_DAYS), ca_cert.not_valid_after_utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(_san(hosts)), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    return cert, key


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


# -- reusing -----------------------------------------------------------------------------------------------
def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except (FileNotFoundError, PermissionError, IsADirectoryError):
        return None


def _valid(cert: x509.Certificate, now: dt.datetime) -> bool:
    return cert.not_valid_before_utc <= now and cert.not_valid_after_utc - now >= MIN_REMAINING


def _load_pair(cert_path: Path, key_path: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None:
    cert_pem, key_pem = _read(cert_path), _read(key_path)
    if cert_pem is None or key_pem is None:
        return None
    try:
        cert = x509.load_pem_x509_certificate(cert_pem)
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError):  # a truncated or foreign file: make a new one
        return None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.public_key() != cert.public_key():
        return None
    return cert, key


def _load_ca(
    directory: Path, hosts: tuple[str, ...], now: dt.datetime
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None:
    pair = _load_pair(directory / CA_CERT, directory / CA_KEY)
    if pair is None or not _valid(pair[0], now):
        return None
    try:
        constraints = pair[0].extensions.get_extension_for_class(x509.NameConstraints).value
    except x509.ExtensionNotFound:
        return None
    if set(_permitted(hosts)) - set(constraints.permitted_subtrees or []):
        return None  # a new host the CA may not vouch for: a new CA
    return pair


def _load_leaf(
    directory: Path, ca_cert: x509.Certificate, hosts: tuple[str, ...], now: dt.datetime
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None:
    pair = _load_pair(directory / SERVER_CERT, directory / SERVER_KEY)
    if pair is None or not _valid(pair[0], now):
        return None
    try:
        pair[0].verify_directly_issued_by(ca_cert)
        names = pair[0].extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (ValueError, TypeError, x509.ExtensionNotFound, InvalidSignature):
        return None
    return pair if set(_san(hosts)) <= set(names) else None
