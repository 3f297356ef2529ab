"""Trino security of the embedded profile: HTTPS and bcrypt password-file authentication (the material in
infra/trino_credentials.py), file-based access control and the HTTP event listener that feeds
governance.access_log.

`configure(s, etc, access)` is called from `infra.trino.configure`; the small event receiver beside Trino is
started and stopped by `infra.event_receiver`. Secrets live under `<home>/trino/secrets/` (0600, the folder
0700) and reach Trino only through the launcher's environment (`launcher_env`, `${ENV:…}` in etc/), never a
world-readable file. What each user may read comes in as an `Access`, derived by the catalog
(catalog.server); this module only writes it out as rules.json.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra import trino_credentials
from infra.settings import Settings, settings

PLATFORM, ANALYST = "platform", "analyst"
# Secrets → the launcher's environment variable that etc/ names as ${ENV:…}.
SECRET_ENV = {"shared-secret": "GOVLAKE_TRINO_SHARED_SECRET", "events-token": "GOVLAKE_TRINO_EVENTS_TOKEN"}
# Trino's HTTP event listener sends this header (http-event-listener.connect-http-headers); the event
# receiver refuses any POST without it.
EVENTS_HEADER = "X-Govlake-Events-Token"
ALL_PRIVILEGES = ["SELECT", "INSERT", "DELETE", "UPDATE", "OWNERSHIP", "GRANT_SELECT"]
NO_SYSTEM_TABLES = "[^$]*"  # a table rule for t never covers t$history, t$properties, … (no masks there)


def enabled(s: Settings | None = None) -> bool:
    return (s or settings()).trino_security


def https_port(s: Settings) -> int:
    return s.trino_https_port


def events_port(s: Settings) -> int:
    return s.trino_events_port


def platform_catalog(s: Settings) -> str:
    """Where the platform writes (registers tables, creates schemas and share views): with security on, a
    second catalog on the same metastore, `<catalog>_platform`, that only the platform may use, while the
    catalog everybody reads (`lake`) is read-only in the connector itself (no writes, no procedures, no
    `ALTER TABLE … EXECUTE`, for anyone)."""
    return f"{s.trino_catalog}_platform" if enabled(s) else s.trino_catalog


def secrets_dir(s: Settings) -> Path:
    return s.trino_dir / "secrets"


def certificate(s: Settings) -> Path:
    """The local CA's certificate (PEM) that clients verify Trino's server certificate against."""
    return secrets_dir(s) / "trino-ca.pem"


def keystore(s: Settings) -> Path:
    return secrets_dir(s) / "trino-keystore.pem"


def spool_dir(s: Settings) -> Path:
    return s.trino_dir / "events"


def rules_file(s: Settings) -> Path:
    return s.trino_dir / "etc" / "rules.json"


def private(path: Path, text: str) -> None:
    """Write `text` readable by this user only (the folder too)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.parent.chmod(0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    path.chmod(0o600)


def passwords(s: Settings, users: list[str] | None = None) -> dict[str, str]:
    """The users' passwords (created on first use, kept in secrets/passwords.json)."""
    path = secrets_dir(s) / "passwords.json"
    known: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    wanted = [PLATFORM, ANALYST, *(users or [])]
    if any(u not in known for u in wanted):
        known.update({u: secrets.token_urlsafe(18) for u in wanted if u not in known})
        private(path, json.dumps(known, indent=1, sort_keys=True))
    return known


def password(s: Settings, user: str) -> str:
    return passwords(s)[user] if user in (PLATFORM, ANALYST) else passwords(s, [user])[user]


def write_password_file(s: Settings, users: list[str]) -> Path:
    path = s.trino_dir / "etc" / "password.db"
    pw = passwords(s, users)
    old = {}
    if path.exists():  # keep unchanged lines (a new salt per start would only churn the file)
        old = {line.split(":", 1)[0]: line for line in path.read_text().splitlines() if ":" in line}
    lines = []
    for user in sorted(set(pw)):
        line = old.get(user)
        if not line or not trino_credentials.password_matches(line, pw[user]):
            line = trino_credentials.bcrypt_entry(user, pw[user])
        lines.append(line)
    private(path, "\n".join(lines) + "\n")
    return path


def ensure_certificate(s: Settings) -> Path:
    """Trino's keystore (server key + certificate signed by the local CA), and the CA file clients trust."""
    return trino_credentials.ensure_certificates(keystore(s), certificate(s), s.trino_host)


def _secret(s: Settings, name: str) -> str:
    path = secrets_dir(s) / name
    if not path.exists():
        private(path, secrets.token_urlsafe(48))
    return path.read_text().strip()


def shared_secret(s: Settings) -> str:
    """Trino's internal-communication secret."""
    return _secret(s, "shared-secret")


def events_token(s: Settings) -> str:
    return _secret(s, "events-token")


def pseudonym_key(s: Settings) -> bytes:
    """The platform-held HMAC key of the analysts' person pseudonyms (32 bytes, stable across restarts)."""
    path = secrets_dir(s) / "pseudonym-key"
    if not path.exists():
        private(path, secrets.token_hex(32))
    return bytes.fromhex(path.read_text().strip())


def launcher_env(s: Settings) -> dict[str, str]:
    """The variables etc/ refers to as ${ENV:…}: the secrets, handed to Trino's JVM in its environment."""
    return {env: _secret(s, name) for name, env in SECRET_ENV.items()} if enabled(s) else {}


@dataclass(frozen=True)
class ColumnRule:
    """One column of a table rule: denied, or shown through a mask (a SQL expression over the row);
    `as_platform` evaluates the mask as the platform (mask_environment), e.g. to read the pseudonym key."""

    name: str
    allow: bool = True
    mask: str | None = None
    as_platform: bool = False

    def as_json(self) -> dict[str, Any]:
        if not self.allow:
            return {"name": self.name, "allow": False}
        rule: dict[str, Any] = {"name": self.name, "mask": self.mask}
        if self.as_platform:
            rule["mask_environment"] = {"user": PLATFORM}
        return rule


@dataclass(frozen=True)
class Access:
    """What the catalog allows (catalog.server derives it; process management only writes it out):
    the department users (each reads only its schema share_<department>), the tables the analyst reads
    with their column rules — `(schema, table)` → rules; a table not listed is not readable — plus the
    schemas the analyst reads whole, and `failed`: the catalog did not load, so nobody but the platform
    reads anything."""

    departments: tuple[str, ...] = ()
    analyst_tables: dict[tuple[str, str], tuple[ColumnRule, ...]] = field(default_factory=dict)
    analyst_schemas: tuple[str, ...] = ()
    failed: bool = False


def _reads(user: str, catalog: str, schema: str, table: str = NO_SYSTEM_TABLES) -> dict[str, Any]:
    return {"user": user, "catalog": catalog, "schema": schema, "table": table, "privileges": ["SELECT"]}


def _table_rules(catalog: str, access: Access) -> list[dict[str, Any]]:
    tables: list[dict[str, Any]] = [{"user": PLATFORM, "privileges": ALL_PRIVILEGES}]
    for (schema, table), columns in sorted(access.analyst_tables.items()):
        rule = _reads(ANALYST, catalog, schema, table)
        if columns:
            rule["columns"] = [c.as_json() for c in sorted(columns, key=lambda c: c.name)]
        tables.append(rule)
    tables += [_reads(ANALYST, catalog, schema) for schema in sorted(access.analyst_schemas)]
    tables += [_reads(dept, catalog, f"share_{dept}") for dept in sorted(access.departments)]
    tables.append({"privileges": []})  # everyone else, everything else: nothing
    return tables


def access_rules(catalog: str, access: Access) -> dict[str, Any]:
    """File-based access control: the platform owns everything (and alone sees and kills others' queries,
    sets session properties, runs procedures, reads system information); the analyst reads the tables and
    schemas `access` lists, through their column rules; each department reads only share_<department>.
    A catalog that did not load (`access.failed`) leaves the platform alone."""
    catalogs: list[dict[str, Any]] = [{"user": PLATFORM, "allow": "all"}]
    schemas: list[dict[str, Any]] = [{"user": PLATFORM, "owner": True}]
    tables: list[dict[str, Any]] = [{"user": PLATFORM, "privileges": ALL_PRIVILEGES}, {"privileges": []}]
    if not access.failed:
        readers = [ANALYST, *sorted(access.departments)]
        catalogs.append({"user": "|".join(readers), "catalog": catalog, "allow": "read-only"})
        analyst_schemas = sorted({s for s, _ in access.analyst_tables} | set(access.analyst_schemas))
        if analyst_schemas:
            schema = "|".join(analyst_schemas)
            schemas.append({"user": ANALYST, "catalog": catalog, "schema": schema, "owner": False})
        for dept in sorted(access.departments):
            schemas.append({"user": dept, "catalog": catalog, "schema": f"share_{dept}", "owner": False})
        tables = _table_rules(catalog, access)
    catalogs.append({"allow": "none"})
    return {
        "catalogs": catalogs,
        "schemas": schemas,
        "tables": tables,
        "queries": [{"user": PLATFORM, "allow": ["execute", "kill", "view"]}, {"allow": ["execute"]}],
        "system_session_properties": [{"user": PLATFORM, "allow": True}, {"allow": False}],
        "catalog_session_properties": [{"user": PLATFORM, "allow": True}, {"allow": False}],
        "procedures": [{"user": PLATFORM, "privileges": ["EXECUTE", "GRANT_EXECUTE"]}],
        "system_information": [{"user": PLATFORM, "allow": ["read", "write"]}],
    }


def write_rules(s: Settings, access: Access) -> Path:
    """Rewrite rules.json atomically (0600); Trino re-reads it within security.refresh-period."""
    path = rules_file(s)
    tmp = path.with_suffix(".tmp")
    private(tmp, json.dumps(access_rules(s.trino_catalog, access), indent=1, ensure_ascii=False))
    tmp.replace(path)
    write_password_file(s, list(access.departments))
    return path


def _listener(s: Settings, etc: Path) -> Path:
    """The HTTP event listener's file: it authenticates to the receiver with the events token (from the
    environment, see launcher_env)."""
    listener = etc / "http-event-listener.properties"
    listener.write_text(
        "event-listener.name=http\n"
        "http-event-listener.log-completed=true\n"
        f"http-event-listener.connect-ingest-uri=http://127.0.0.1:{events_port(s)}/events\n"
        f"http-event-listener.connect-http-headers={EVENTS_HEADER}:${{ENV:{SECRET_ENV['events-token']}}}\n"
        "http-event-listener.connect-retry-count=3\n"
    )
    return listener


def configure(s: Settings, etc: Path, access: Access) -> None:
    """Add HTTPS, password authentication, access control and the HTTP event listener to etc/."""
    if not enabled(s):
        return
    launcher_env(s)  # create the secrets now, so that the launcher only reads them
    props = {
        "http-server.authentication.type": "PASSWORD",
        "http-server.https.enabled": "true",
        "http-server.https.port": str(https_port(s)),
        "http-server.https.keystore.path": str(ensure_certificate(s)),
        "internal-communication.shared-secret": f"${{ENV:{SECRET_ENV['shared-secret']}}}",
    }
    write_rules(s, access)  # rewritten at every start
    listener = _listener(s, etc)
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
