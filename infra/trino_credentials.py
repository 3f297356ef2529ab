"""Trino's credentials: bcrypt password-file lines, and the TLS material — a local certificate authority
(CA:TRUE, path length 0) that signs one server certificate (CA:FALSE, digitalSignature, serverAuth) for
127.0.0.1/localhost/<host>. Clients verify against the CA file; Trino's PEM keystore holds the server key,
the server certificate and the CA certificate. The CA's private key signs once and is never written
anywhere, so nothing here can mint another certificate."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from pathlib import Path

import bcrypt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALID_DAYS = 825  # what browsers and most TLS stacks accept for a server certificate
BCRYPT_COST = 10  # Trino accepts $2y$ with cost >= 8


def _write(path: Path, text: str, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(path, mode)


def _names(host: str) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = [
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
    ]
    try:
        names.append(x509.IPAddress(ipaddress.ip_address(host)))
    except ValueError:
        names.append(x509.DNSName(host))
    return list(dict.fromkeys(names))


def _usage(*, sign: bool, certs: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=sign,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=certs,
        crl_sign=certs,
        encipher_only=False,
        decipher_only=False,
    )


def _builder(subject: str, issuer: str, public_key: ec.EllipticCurvePublicKey) -> x509.CertificateBuilder:
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=VALID_DAYS))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )


def issue(host: str) -> tuple[str, str, str]:
    """(server key PEM, server certificate PEM, CA certificate PEM), freshly generated."""
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = "govlake local CA"
    ca = (
        _builder(ca_name, ca_name, ca_key.public_key())
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(sign=False, certs=True), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    leaf = (
        _builder("govlake-trino", ca_name, key.public_key())
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(sign=True, certs=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(_names(host)), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    pem = serialization.Encoding.PEM
    return key_pem, leaf.public_bytes(pem).decode(), ca.public_bytes(pem).decode()


def is_server_certificate(keystore: Path) -> bool:
    """The keystore's first certificate is a server certificate signed by a CA (not the old self-signed
    CA:TRUE one, which is replaced)."""
    try:
        leaf = x509.load_pem_x509_certificate(keystore.read_bytes().split(b"-----END PRIVATE KEY-----")[1])
        return not leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except (OSError, IndexError, ValueError, x509.ExtensionNotFound):
        return False


def ensure_certificates(keystore: Path, ca_file: Path, host: str) -> Path:
    """Write the keystore (0600) and the CA file clients verify against, unless both are there and current."""
    if ca_file.exists() and is_server_certificate(keystore):
        return keystore
    key_pem, leaf_pem, ca_pem = issue(host)
    _write(keystore, key_pem + leaf_pem + ca_pem, 0o600)
    _write(ca_file, ca_pem, 0o644)  # public: what clients trust
    return keystore


def bcrypt_entry(user: str, secret: str, cost: int = BCRYPT_COST) -> str:
    """A password-file line Trino accepts: `user:$2y$<cost>$<salt+hash>` (bcrypt's $2b$ is the same
    algorithm; Trino's file authenticator wants the $2y$ prefix)."""
    hashed = bcrypt.hashpw(secret.encode(), bcrypt.gensalt(rounds=cost)).decode()
    return f"{user}:$2y${hashed[4:]}"


def password_matches(line: str, secret: str) -> bool:
    """A bcrypt line ($2y$, cost >= 8) for this password; PBKDF2 lines of earlier versions never match."""
    hashed = line.partition(":")[2]
    if not hashed.startswith("$2y$") or not hashed[4:6].isdigit() or int(hashed[4:6]) < 8:
        return False
    return bcrypt.checkpw(secret.encode(), f"$2b${hashed[4:]}".encode())
