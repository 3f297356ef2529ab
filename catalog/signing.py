"""Signed share reviews (Ed25519, `cryptography`): one key pair per department. The private key stays in
the installation home, `<home>/keys/<department>.ed25519` (0600, folder 0700); the public key is part of
the catalog, `<catalog>/keys/<department>.pub` (PEM), beside `approvals/`. A review is signed over a
canonical encoding of all its other fields, which include the SHA-256 of the request's content, so
editing either the review or the request invalidates it."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from catalog.loader import ReviewFile
from catalog.models import Review, ShareRequest, UnsignedReview
from infra.settings import Settings, settings
from schemas.contracts import identifier

PRIVATE_SUFFIX, PUBLIC_SUFFIX = ".ed25519", ".pub"
PublicKeys = dict[str, Ed25519PublicKey | str]  # department → its key, or why its key file is unusable


class SigningError(ValueError):
    """A key is missing, unreadable or would be overwritten; the message names the file and the fix."""


def canonical(data: Any) -> bytes:
    """Sorted-key, compact UTF-8 JSON: the same bytes for the same content, whatever the YAML looked like."""
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def request_sha256(req: ShareRequest) -> str:
    """Hex SHA-256 of the validated request: any field change (columns, scope, expiry, …) changes it."""
    return hashlib.sha256(canonical(req.model_dump(mode="json"))).hexdigest()


def payload(review: UnsignedReview) -> bytes:
    """What a signature covers: every field of the review but the signature itself."""
    return canonical(review.model_dump(mode="json", exclude={"signature"}))


def private_key_path(department: str, s: Settings | None = None) -> Path:
    return (s or settings()).home / "keys" / f"{identifier(department)}{PRIVATE_SUFFIX}"


def public_key_path(department: str, keys_dir: Path) -> Path:
    return keys_dir / f"{identifier(department)}{PUBLIC_SUFFIX}"


def keygen(department: str, keys_dir: Path, s: Settings | None = None) -> tuple[Path, Path]:
    """A new key pair for `department`: (private key under the home, public key in `keys_dir`). Refuses to
    overwrite either: a lost private key is rotated by removing its public key first (reviews signed with
    the old key are then refused)."""
    private, public = private_key_path(department, s), public_key_path(department, keys_dir)
    for path, what in ((private, "private"), (public, "public")):
        if path.exists():
            raise SigningError(f"{path}: {department}'s {what} key exists; not overwritten")
    key = Ed25519PrivateKey.generate()
    private.parent.mkdir(parents=True, exist_ok=True)
    private.parent.chmod(0o700)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # never readable by others
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    keys_dir.mkdir(parents=True, exist_ok=True)
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return private, public


def publish_public_key(department: str, keys_dir: Path, s: Settings | None = None) -> Path:
    """Put the department's public key (from its private key in this home, made if absent) into a catalog's
    `keys_dir`: how one department's key pair serves several catalogs. Refuses to replace a different
    public key already there."""
    if not private_key_path(department, s).exists():
        return keygen(department, keys_dir, s)[1]
    public = public_key_path(department, keys_dir)
    pem = (
        load_private_key(department, s)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    if public.exists() and public.read_bytes() != pem:
        raise SigningError(f"{public}: holds another key for {department}; not replaced")
    keys_dir.mkdir(parents=True, exist_ok=True)
    public.write_bytes(pem)
    return public


def load_private_key(department: str, s: Settings | None = None) -> Ed25519PrivateKey:
    path = private_key_path(department, s)
    if not path.is_file():
        raise SigningError(
            f"no private key for {department} at {path}: create it with `govlake catalog keygen {department}`"
        )
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError) as exc:
        raise SigningError(f"{path}: not a PEM private key: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningError(f"{path}: not an Ed25519 private key")
    return key


def _public_key(path: Path) -> Ed25519PublicKey | str:
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except (OSError, ValueError, TypeError) as exc:
        return f"public key {path} is unreadable ({exc})"
    return key if isinstance(key, Ed25519PublicKey) else f"public key {path} is not an Ed25519 key"


def load_public_keys(keys_dir: Path) -> PublicKeys:
    """Every `<department>.pub` of the catalog's keys folder (empty if there is none)."""
    files = sorted(keys_dir.glob(f"*{PUBLIC_SUFFIX}")) if keys_dir.is_dir() else []
    return {path.stem: _public_key(path) for path in files}


def matches(private: Ed25519PrivateKey, public: Ed25519PublicKey | str) -> bool:
    """The catalog's public key is the private key's own."""
    return isinstance(public, Ed25519PublicKey) and public.public_bytes_raw() == (
        private.public_key().public_bytes_raw()
    )


def sign(review: UnsignedReview, key: Ed25519PrivateKey) -> Review:
    signature = base64.b64encode(key.sign(payload(review))).decode("ascii")
    return Review(**review.model_dump(), signature=signature)


def verify(review: Review, key: Ed25519PublicKey) -> bool:
    """The signature is the department's over exactly these fields."""
    try:
        key.verify(base64.b64decode(review.signature, validate=True), payload(review))
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


def refusal(f: ReviewFile, req: ShareRequest, provider: str, keys: PublicKeys) -> str:
    """Why a review file is not `provider`'s own word on `req` ('' if it is; whether it was made over the
    request's current content is the engine's next question)."""
    r = f.review
    if r is None:
        return f"unreadable or unsigned: {f.problem}"
    key = keys.get(r.reviewer)
    if key is None:
        return (
            f"no public key for {r.reviewer} in the catalog's keys/ (`govlake catalog keygen {r.reviewer}`)"
        )
    if isinstance(key, str):
        return key
    if not verify(r, key):
        return f"the signature does not verify with {r.reviewer}'s public key (forged or altered)"
    if r.reviewer == req.requester:
        return f"{r.reviewer} is the requester: a department cannot review its own request"
    if r.reviewer != provider:
        return f"{r.reviewer} is not the provider of {req.resource} ({provider} decides)"
    return ""
