"""Ed25519 signatures of chain entries (RFC 8032, through the ``cryptography`` package).

A park may configure a signing key (settings ``report_signing_key_file``, a PKCS#8 PEM file as
written by ``openssl genpkey -algorithm ed25519``, or the ``EMS_REPORT_SIGNING_KEY`` secret
holding the same PEM text). Each chain entry issued then carries the raw 32-byte public key
(hex, inside the chained fields) and ``signature`` = Ed25519 signature of the entry's
``chain_sha256`` as ASCII hex (outside the chained fields: it signs them). The key itself is
never logged or written anywhere; only the public key appears in entries and reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ALGORITHM = "Ed25519"


class SigningKeyError(ValueError):
    """The configured signing key cannot be used (the message never contains key material)."""


@dataclass(frozen=True, repr=False)
class Signer:
    """A park's signing key; ``repr`` shows the public key only."""

    _key: Ed25519PrivateKey

    @property
    def public_key_hex(self) -> str:
        raw = self._key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return raw.hex()

    def sign(self, chain_sha256: str) -> str:
        return self._key.sign(chain_sha256.encode("ascii")).hex()

    def __repr__(self) -> str:
        return f"Signer(Ed25519 public key {self.public_key_hex})"


def signer_from_pem(pem: bytes, origin: str) -> Signer:
    """A signer from PKCS#8 PEM bytes; ``origin`` names where they came from in errors."""
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        raise SigningKeyError(f"{origin}: not an unencrypted PKCS#8 PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"{origin}: the key is not an Ed25519 key")
    return Signer(key)


def load_signer(key_file: Path | None, key_pem: str | None) -> Signer | None:
    """The configured signer (file first, then the secret), or None when signing is not configured."""
    if key_file is not None:
        try:
            return signer_from_pem(key_file.read_bytes(), f"signing key file {key_file}")
        except OSError as exc:
            raise SigningKeyError(f"signing key file {key_file}: {exc.strerror}") from None
    if key_pem:
        return signer_from_pem(key_pem.encode("utf-8"), "EMS_REPORT_SIGNING_KEY")
    return None


def generate_pem() -> bytes:
    """A new Ed25519 private key as PKCS#8 PEM (for ``ems report keygen`` and tests)."""
    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def signature_valid(public_key_hex: str, chain_sha256: str, signature_hex: str) -> bool:
    try:
        key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key_hex))
        key.verify(bytes.fromhex(signature_hex), chain_sha256.encode("ascii"))
    except (ValueError, InvalidSignature):
        return False
    return True
