"""Trino security of the embedded profile: HTTPS with a certificate generated here, password-file
authentication, file-based access control and the HTTP event listener that feeds governance.access_log.

`configure(s, etc)` is called from `infra.trino.configure`; the small event receiver beside Trino is
started and stopped by `infra.event_receiver`. Secrets live under `<home>/trino/secrets/` (mode 0600).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from infra.settings import Settings, settings

PLATFORM, ANALYST = "platform", "analyst"
PBKDF2_ITERATIONS = 10_000


def enabled(s: Settings | None = None) -> bool:
    return (s or settings()).trino_security


def https_port(s: Settings) -> int:
    return s.trino_https_port


def events_port(s: Settings) -> int:
    return s.trino_events_port


def secrets_dir(s: Settings) -> Path:
    return s.trino_dir / "secrets"


def certificate(s: Settings) -> Path:
    """The server certificate (PEM) clients verify against."""
    return secrets_dir(s) / "trino-cert.pem"


def spool_dir(s: Settings) -> Path:
    return s.trino_dir / "events"


def rules_file(s: Settings) -> Path:
    return s.trino_dir / "etc" / "rules.json"


def _private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


def passwords(s: Settings, users: list[str] | None = None) -> dict[str, str]:
    """The users' passwords (created on first use, kept in secrets/passwords.json)."""
    path = secrets_dir(s) / "passwords.json"
    known: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    wanted = [PLATFORM, ANALYST, *(users or [])]
    if any(u not in known for u in wanted):
        known.update({u: secrets.token_urlsafe(18) for u in wanted if u not in known})
        _private(path, json.dumps(known, indent=1, sort_keys=True))
    return known


def password(s: Settings, user: str) -> str:
    return passwords(s)[user] if user in (PLATFORM, ANALYST) else passwords(s, [user])[user]


def pbkdf2_entry(user: str, secret: str, salt: bytes | None = None) -> str:
    """A password-file line Trino accepts: user:iterations:salt-hex:hash-hex.

    Trino 476 verifies PBKDF2 with HmacSHA1 (its EncryptionUtil), at least 1000 iterations."""
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha1", secret.encode(), salt, PBKDF2_ITERATIONS, dklen=64)
    return f"{user}:{PBKDF2_ITERATIONS}:{salt.hex()}:{digest.hex()}"


def write_password_file(s: Settings, users: list[str]) -> Path:
    path = s.trino_dir / "etc" / "password.db"
    pw = passwords(s, users)
    old = {}
    if path.exists():  # keep unchanged lines (a new salt per start would only churn the file)
        old = {line.split(":", 1)[0]: line for line in path.read_text().splitlines() if ":" in line}
    lines = []
    for user in sorted(set(pw)):
        line = old.get(user)
        if not line or not _matches(line, pw[user]):
            line = pbkdf2_entry(user, pw[user])
        lines.append(line)
    _private(path, "\n".join(lines) + "\n")
    return path


def _matches(line: str, secret: str) -> bool:
    _, iterations, salt, digest = line.split(":")
    got = hashlib.pbkdf2_hmac("sha1", secret.encode(), bytes.fromhex(salt), int(iterations), dklen=64)
    return secrets.compare_digest(got.hex(), digest)


def ensure_certificate(s: Settings) -> Path:
    """A self-signed certificate for 127.0.0.1/localhost/<host>; the keystore PEM holds key + certificate."""
    keystore = secrets_dir(s) / "trino-keystore.pem"
    if keystore.exists() and certificate(s).exists():
        return keystore
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "govlake-trino")])
    alt: list[x509.GeneralName] = [
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
    ]
    try:
        alt.append(x509.IPAddress(ipaddress.ip_address(s.trino_host)))
    except ValueError:
        alt.append(x509.DNSName(s.trino_host))
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=825))
        .add_extension(x509.SubjectAlternativeName(list(dict.fromkeys(alt))), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    _private(keystore, key_pem + cert_pem)
    certificate(s).write_text(cert_pem)
    return keystore


def shared_secret(s: Settings) -> str:
    path = secrets_dir(s) / "shared-secret"
    if not path.exists():
        _private(path, secrets.token_urlsafe(48))
    return path.read_text().strip()


def access_rules(
    catalog: str,
    departments: list[str],
    gold_denied_columns: dict[str, list[str]] | None = None,
) -> dict:
    """File-based access control: the platform owns everything; analysts read gold (never negative-list
    columns) and governance; each department user reads only its own share_<department> schema."""
    readers = "|".join([ANALYST, *departments])
    tables: list[dict] = [
        {
            "user": PLATFORM,
            "privileges": ["SELECT", "INSERT", "DELETE", "UPDATE", "OWNERSHIP", "GRANT_SELECT"],
        }
    ]
    for table, columns in sorted((gold_denied_columns or {}).items()):
        tables.append(
            {
                "user": ANALYST,
                "catalog": catalog,
                "schema": "gold",
                "table": table,
                "privileges": ["SELECT"],
                "columns": [{"name": c, "allow": False} for c in sorted(columns)],
            }
        )
    tables.append(
        {"user": ANALYST, "catalog": catalog, "schema": "gold|governance", "privileges": ["SELECT"]}
    )
    schemas: list[dict] = [{"user": PLATFORM, "owner": True}]
    schemas.append({"user": ANALYST, "catalog": catalog, "schema": "gold|governance", "owner": False})
    for dept in sorted(departments):
        tables.append({"user": dept, "catalog": catalog, "schema": f"share_{dept}", "privileges": ["SELECT"]})
        schemas.append({"user": dept, "catalog": catalog, "schema": f"share_{dept}", "owner": False})
    tables.append({"privileges": []})  # everyone else, everything else: nothing
    return {
        "catalogs": [
            {"user": PLATFORM, "allow": "all"},
            {"user": readers, "catalog": catalog, "allow": "read-only"},
            {"allow": "none"},
        ],
        "schemas": schemas,
        "tables": tables,
        "procedures": [{"user": PLATFORM, "privileges": ["EXECUTE", "GRANT_EXECUTE"]}],
        "system_information": [{"user": PLATFORM, "allow": ["read", "write"]}],
    }


def write_rules(s: Settings, departments: list[str], gold_denied_columns: dict[str, list[str]]) -> Path:
    """Rewrite rules.json atomically; Trino re-reads it within security.refresh-period."""
    path = rules_file(s)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(access_rules(s.trino_catalog, departments, gold_denied_columns), indent=1))
    tmp.replace(path)
    write_password_file(s, departments)
    return path


@dataclass(frozen=True)
class Access:
    """Who may log in besides platform and analyst, and the gold columns nobody else reads; the catalog
    derives it (catalog.server), process management only writes it out."""

    departments: tuple[str, ...] = ()
    denied_columns: dict[str, list[str]] = field(default_factory=dict)


def configure(s: Settings, etc: Path, access: Access) -> None:
    """Add HTTPS, password authentication, access control and the HTTP event listener to etc/."""
    if not enabled(s):
        return
    keystore = ensure_certificate(s)
    write_rules(s, list(access.departments), access.denied_columns)  # rewritten at every start
    props = {
        "http-server.authentication.type": "PASSWORD",
        "http-server.https.enabled": "true",
        "http-server.https.port": str(https_port(s)),
        "http-server.https.keystore.path": str(keystore),
        "internal-communication.shared-secret": shared_secret(s),
    }
    listener = etc / "http-event-listener.properties"
    listener.write_text(
        "event-listener.name=http\n"
        "http-event-listener.log-completed=true\n"
        f"http-event-listener.connect-ingest-uri=http://127.0.0.1:{events_port(s)}/events\n"
        "http-event-listener.connect-retry-count=3\n"
    )
    config = etc / "config.properties"
    lines = config.read_text().splitlines()
    files = [str(listener)]
    for i, line in enumerate(lines):  # another listener (e.g. OpenLineage) may already be configured
        if line.startswith("event-listener.config-files="):
            files = [*line.split("=", 1)[1].split(","), str(listener)]
            lines[i] = ""
    lines = [ln for ln in lines if ln] + [f"{k}={v}" for k, v in props.items()]
    lines.append("event-listener.config-files=" + ",".join(dict.fromkeys(files)))
    config.write_text("\n".join(lines) + "\n")
    (etc / "password-authenticator.properties").write_text(
        "password-authenticator.name=file\n"
        f"file.password-file={etc / 'password.db'}\nfile.refresh-period=1s\n"
    )
    (etc / "access-control.properties").write_text(
        f"access-control.name=file\nsecurity.config-file={rules_file(s)}\nsecurity.refresh-period=1s\n"
    )
