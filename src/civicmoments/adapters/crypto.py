"""Keys and the cryptography that uses them: pseudonyms (HMAC-SHA256), sensitive values at
rest (AES-256-GCM) and signed audit checkpoints (Ed25519). Keys are versioned for rotation:
the newest key writes, every key still listed reads."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM


class KeyConfigurationError(ValueError):
    """A key setting is missing or malformed."""


def parse_keyring(text: str, name: str) -> dict[int, bytes]:
    """``"2:<base64>,1:<base64>"``, newest first."""
    ring: dict[int, bytes] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        version, _, material = part.partition(":")
        try:
            key = base64.b64decode(material, validate=True)
            ring[int(version)] = key
        except ValueError:
            raise KeyConfigurationError(f"{name}: {part[:6]}... is not <version>:<base64 key>") from None
        if len(key) != 32:
            raise KeyConfigurationError(f"{name}: key version {version} must be 32 bytes")
    if not ring:
        raise KeyConfigurationError(f"{name} holds no key")
    return ring


def private_dir(directory: Path) -> Path:
    """Make a folder only its owner can open (0700), with its parents."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    return directory


def private_file(path: Path) -> Path:
    """Create an empty file only its owner can read (0600), unless it exists."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass
    return path


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


@dataclass(frozen=True)
class Keys:
    pseudonym: dict[int, bytes]
    data: dict[int, bytes]
    signing: bytes

    @classmethod
    def local(cls, directory: Path, database: Path | None = None) -> Keys:
        """Development keys kept in the data folder (``keys.json``, mode 0600). They are made only
        for a new database: for one that exists already (``database``) without them, new keys
        would leave its data unreadable and its log unverifiable, so this stops instead."""
        path = directory / "keys.json"
        if not path.exists():
            if database is not None and database.exists() and database.stat().st_size > 0:
                raise KeyConfigurationError(
                    f"the database {database} exists but its keys are not at {path.resolve()}: set CIVIC_DATA_DIR "
                    "to the folder holding its keys.json, or set CIVIC_PSEUDONYM_KEYS, CIVIC_DATA_KEYS and "
                    "CIVIC_AUDIT_SIGNING_KEY. No new keys were made")
            private_dir(directory)
            doc = {k: f"1:{_b64(secrets.token_bytes(32))}" for k in ("pseudonym", "data")}
            doc["signing"] = _b64(secrets.token_bytes(32))
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                json.dump(doc, f)
        doc = json.loads(path.read_text())
        return cls.parse(doc["pseudonym"], doc["data"], doc["signing"])

    @classmethod
    def parse(cls, pseudonym: str, data: str, signing: str) -> Keys:
        try:
            seed = base64.b64decode(signing, validate=True)
        except ValueError:
            raise KeyConfigurationError("CIVIC_AUDIT_SIGNING_KEY is not base64") from None
        if len(seed) != 32:
            raise KeyConfigurationError("CIVIC_AUDIT_SIGNING_KEY must be a 32-byte Ed25519 seed")
        return cls(parse_keyring(pseudonym, "CIVIC_PSEUDONYM_KEYS"), parse_keyring(data, "CIVIC_DATA_KEYS"), seed)


class Pseudonymiser:
    """Stable pseudonyms per (partner, purpose); unlinkable across pairs without the key."""

    def __init__(self, ring: dict[int, bytes]) -> None:
        self.ring = ring
        self.version = max(ring)

    def pseudonym(self, partner: str, purpose: str, person: str, version: int | None = None) -> str:
        v = self.version if version is None else version
        pair_key = hmac.new(self.ring[v], f"{partner}\x1f{purpose}".encode(), hashlib.sha256).digest()
        digest = hmac.new(pair_key, person.encode(), hashlib.sha256).hexdigest()
        return f"ps{v}_{digest[:40]}"


class FieldCipher:
    """AES-256-GCM for sensitive values; the person and attribute are bound in as associated data."""

    PREFIX = "enc:"

    def __init__(self, ring: dict[int, bytes]) -> None:
        self.ring = ring
        self.version = max(ring)
        self._aead = {v: AESGCM(k) for v, k in ring.items()}  # made once: a key's set-up costs more than a field

    def encrypt(self, plaintext: str, context: str) -> str:
        nonce = secrets.token_bytes(12)
        sealed = self._aead[self.version].encrypt(nonce, plaintext.encode(), context.encode())
        return f"{self.PREFIX}{self.version}:{_b64(nonce + sealed)}"

    def decrypt(self, token: str, context: str) -> str:
        version, _, body = token.removeprefix(self.PREFIX).partition(":")
        raw = base64.b64decode(body)
        try:
            return self._aead[int(version)].decrypt(raw[:12], raw[12:], context.encode()).decode()
        except (KeyError, InvalidTag):
            raise KeyConfigurationError("a sensitive value cannot be decrypted with the configured keys") from None


    def seal(self, data: bytes, context: str) -> bytes:
        """Bytes (a document) sealed with AES-256-GCM: key version (2 bytes), nonce, ciphertext."""
        nonce = secrets.token_bytes(12)
        return self.version.to_bytes(2, "big") + nonce + AESGCM(self.ring[self.version]).encrypt(
            nonce, data, context.encode())

    def open(self, sealed: bytes, context: str) -> bytes:
        """The bytes ``seal`` sealed. Raises KeyConfigurationError when no key opens them."""
        try:
            key = self.ring[int.from_bytes(sealed[:2], "big")]
            return AESGCM(key).decrypt(sealed[2:14], sealed[14:], context.encode())
        except (KeyError, InvalidTag):
            raise KeyConfigurationError("a sealed document cannot be opened with the configured keys") from None


class Signer:
    def __init__(self, seed: bytes) -> None:
        self.private = Ed25519PrivateKey.from_private_bytes(seed)
        self.public = self.private.public_key()

    def sign(self, message: bytes) -> str:
        return _b64(self.private.sign(message))

    @staticmethod
    def verify(public: Ed25519PublicKey, message: bytes, signature: str) -> bool:
        try:
            public.verify(base64.b64decode(signature), message)
            return True
        except (InvalidSignature, ValueError):
            return False
