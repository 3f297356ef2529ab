"""Connections to Trino through the `trino` Python client."""

from __future__ import annotations

from typing import Any

import requests
import trino

from infra import trino_security
from infra.settings import Settings, settings


class TrinoUnreachable(ConnectionError):
    """No secure connection can be made: the certificate Trino's first start writes is missing."""


def connect(
    s: Settings | None = None,
    user: str | None = None,
    schema: str | None = None,
    password: str | None = None,
):
    """A connection as `user` (default: the platform). When the installation runs Trino securely
    (infra/trino_security.py) it goes over HTTPS with the user's password, verified against our
    certificate; the platform's own password is read from the installation's secrets."""
    s = s or settings()
    user = user or s.trino_user
    if not trino_security.enabled(s):
        return trino.dbapi.connect(
            host=s.trino_host,
            port=s.trino_port,
            user=user,
            catalog=s.trino_catalog,
            schema=schema,
            http_scheme="http",
        )
    if not trino_security.certificate(s).exists():
        raise TrinoUnreachable(
            f"no Trino certificate at {trino_security.certificate(s)}: Trino was never started from {s.home}"
        )
    session = requests.Session()
    session.trust_env = False  # else REQUESTS_CA_BUNDLE would override our certificate
    session.verify = str(trino_security.certificate(s))
    return trino.dbapi.connect(
        host=s.trino_host,
        port=trino_security.https_port(s),
        user=user,
        catalog=s.trino_catalog,
        schema=schema,
        http_scheme="https",
        auth=trino.auth.BasicAuthentication(user, password or trino_security.password(s, user)),
        http_session=session,
    )


def query(sql: str, params: list[Any] | None = None, s: Settings | None = None) -> list[list[Any]]:
    with connect(s) as conn:
        cur = conn.cursor()
        cur.execute(sql, params)
        return cur.fetchall()
