"""The keys that sign and verify JWTs, and the JWK Set that publishes the public ones.

`JWT_ALGORITHM` says how new tokens are signed: `HS256` (the embedded default: a shared secret,
nothing to publish), `RS256` or `EdDSA` (a private key whose public half is published at
`/.well-known/jwks.json`, so another service can verify access tokens without any secret).

Every key is bound to exactly one algorithm, fixed by the key's own type (an RSA key signs
RS256, an Ed25519 or Ed448 key EdDSA, a secret HS256) and never taken from a token's header
(RFC 8725 §3.1): a token names its key with `kid`, and is checked only with that key's
algorithm. So an RSA public key can never be used as an HMAC secret (algorithm confusion) and
`alg: none` matches no key. Kids are derived from the keys (RFC 7638 thumbprints; for a secret,
an HMAC of a constant under it), so nothing has to be configured for them and they reveal nothing.

The ring holds the signing key and any number of verify-only keys (`JWT_VERIFYING_KEYS`,
`JWT_VERIFYING_KEY_FILES`): a key being rolled in (published before anything is signed with it)
or rolled out (its tokens keep working until they expire or the key is removed). Tokens without
a `kid` come from before kids were added; they are checked against the ring's HS256 keys.

The ring is built and checked once, when Django starts (AccountsConfig.ready); any mistake in
the configuration is an ImproperlyConfigured naming the setting.
"""

import base64
import functools
import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed448, ed25519, rsa
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver
from jwt.algorithms import OKPAlgorithm, RSAAlgorithm

ALGORITHMS = ("HS256", "RS256", "EdDSA")
# RFC 7518 §3.2: an HS256 key must be at least as long as the hash (256 bits).
MIN_SECRET_BYTES = 32
# RFC 7518 §3.3: RSA keys of 2048 bits or more.
MIN_RSA_BITS = 2048

_PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----.+?-----END \1-----", re.DOTALL)
# The members that define each key type's public key (RFC 7638 §3.2), in the order hashed.
_THUMBPRINT_MEMBERS = {"RSA": ("e", "kty", "n"), "OKP": ("crv", "kty", "x")}

PrivateKey = rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey
PublicKey = rsa.RSAPublicKey | ed25519.Ed25519PublicKey | ed448.Ed448PublicKey


@dataclass(frozen=True, eq=False)
class JwtKey:
    kid: str
    algorithm: str  # the one algorithm this key is used with
    signing_key: Any  # private key or secret bytes; None for a verify-only key
    verifying_key: Any  # public key or secret bytes
    public_jwk: dict[str, str] | None  # None for secrets, which are never published


@dataclass(frozen=True, eq=False)
class KeyRing:
    signing: JwtKey
    keys: tuple[JwtKey, ...]  # the signing key first, then the verify-only ones; kids unique

    def verifying_keys_for(self, kid: object) -> tuple[JwtKey, ...]:
        """The keys a token with this `kid` header may be checked with (none: refuse it)."""
        if kid is None:
            return tuple(key for key in self.keys if key.algorithm == "HS256")
        if not isinstance(kid, str):
            return ()
        return tuple(key for key in self.keys if key.kid == kid)

    def jwk_set(self) -> dict[str, list[dict[str, str]]]:
        """RFC 7517 §5 JWK Set of the public keys, the signing key first. Secrets never appear."""
        return {"keys": [key.public_jwk for key in self.keys if key.public_jwk is not None]}


@functools.cache
def keyring() -> KeyRing:
    """The process's key ring, from settings (read once; rebuilt when tests change a JWT setting)."""
    return keyring_from_settings()


@receiver(setting_changed)
def _forget_keyring(*, setting: str, **kwargs: Any) -> None:
    if setting.startswith("JWT_") or setting == "SECRET_KEY":
        keyring.cache_clear()


def keyring_from_settings() -> KeyRing:
    algorithm = settings.JWT_ALGORITHM
    if algorithm not in ALGORITHMS:
        raise ImproperlyConfigured(f"JWT_ALGORITHM must be one of {', '.join(ALGORITHMS)}, not {algorithm!r}.")
    signing = _signing_key(algorithm)
    keys = {signing.kid: signing}
    for key in _verifying_keys():
        keys.setdefault(key.kid, key)  # listing the signing key's own public key again is harmless
    return KeyRing(signing=signing, keys=tuple(keys.values()))


# --- configuration -----------------------------------------------------------------------------


def _signing_key(algorithm: str) -> JwtKey:
    text, source = _one_of("JWT_SIGNING_KEY", settings.JWT_SIGNING_KEY, settings.JWT_SIGNING_KEY_FILE)
    if algorithm == "HS256":
        if not text:
            # Its strength is the settings' business: production refuses one under 50 characters,
            # and development (or a build step) may run on a short throwaway one.
            return _secret_key(settings.SECRET_KEY, source="DJANGO_SECRET_KEY", signs=True, min_bytes=0)
        if "-----BEGIN" in text:
            raise ImproperlyConfigured(f"{source} is a PEM key, but JWT_ALGORITHM=HS256 signs with a secret.")
        return _secret_key(text, source=source, signs=True)
    if not text:
        raise ImproperlyConfigured(
            f"JWT_ALGORITHM={algorithm} needs a private key: set JWT_SIGNING_KEY (PEM) or JWT_SIGNING_KEY_FILE."
        )
    blocks = [match.group(0) for match in _PEM_BLOCK.finditer(text)]
    if len(blocks) != 1 or _PEM_BLOCK.sub("", text).strip():
        raise ImproperlyConfigured(f"{source} must hold exactly one PEM private key and nothing else.")
    key = _load_pem(blocks[0], source=source)
    if not isinstance(key, PrivateKey):
        raise ImproperlyConfigured(f"{source} is a public key; the signing key must be the private key.")
    jwt_key = _asymmetric_key(key, source=source, signs=True)
    if jwt_key.algorithm != algorithm:
        raise ImproperlyConfigured(
            f"{source} is a key for {jwt_key.algorithm}, but JWT_ALGORITHM={algorithm} "
            "(RS256 takes an RSA key, EdDSA an Ed25519 or Ed448 key)."
        )
    return jwt_key


def _one_of(name: str, value: str, path: str) -> tuple[str, str]:
    """The setting's text, given inline or as `<name>_FILE`, and where it came from."""
    if value and path:
        raise ImproperlyConfigured(f"Set {name} or {name}_FILE, not both.")
    if path:
        return _read(path, source=f"{name}_FILE"), f"{name}_FILE ({path})"
    return _unescape(value), name


def _verifying_keys() -> list[JwtKey]:
    keys = _keys_in(_unescape(settings.JWT_VERIFYING_KEYS), source="JWT_VERIFYING_KEYS", secrets_separator=",")
    for path in settings.JWT_VERIFYING_KEY_FILES:
        text = _read(path, source="JWT_VERIFYING_KEY_FILES")
        keys += _keys_in(text, source=f"JWT_VERIFYING_KEY_FILES ({path})", secrets_separator=None)
    return keys


def _keys_in(text: str, *, source: str, secrets_separator: str | None) -> list[JwtKey]:
    """PEM keys (public or private: only the public half is kept) and, outside them, HS256 secrets.

    In the variable the secrets are separated by commas; a file holds one secret or PEM keys.
    """
    keys = [
        _asymmetric_key(_load_pem(match.group(0), source=source), source=source, signs=False)
        for match in _PEM_BLOCK.finditer(text)
    ]
    rest = _PEM_BLOCK.sub("", text)
    if "-----BEGIN" in rest or "-----END" in rest:
        raise ImproperlyConfigured(f"{source}: a PEM block is cut short (no matching BEGIN/END line).")
    if keys and rest.strip() and secrets_separator is None:
        raise ImproperlyConfigured(f"{source} holds PEM keys and other text; put a secret in a file of its own.")
    secrets = rest.split(secrets_separator) if secrets_separator else [rest]
    return keys + [_secret_key(secret.strip(), source=source, signs=False) for secret in secrets if secret.strip()]


def _read(path: str, *, source: str) -> str:
    try:
        return Path(path).read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise ImproperlyConfigured(f"{source}: cannot read {path}: {exc}") from exc


def _unescape(text: str) -> str:
    # A PEM key in an environment variable often arrives on one line, its newlines written as \n.
    return text.replace("\\n", "\n") if "-----BEGIN" in text else text


def _load_pem(block: str, *, source: str) -> PrivateKey | PublicKey:
    data = block.encode()
    try:
        if "PRIVATE KEY" in block.split("\n", 1)[0]:
            key = serialization.load_pem_private_key(data, password=None)
        else:
            key = serialization.load_pem_public_key(data)
    except TypeError as exc:  # an encrypted private key
        raise ImproperlyConfigured(
            f"{source}: encrypted private keys are not supported; store it unencrypted."
        ) from exc
    except ValueError as exc:
        raise ImproperlyConfigured(f"{source}: not a readable PEM key ({exc}).") from exc
    if not isinstance(key, PrivateKey | PublicKey):
        raise ImproperlyConfigured(
            f"{source}: a {type(key).__name__} cannot sign JWTs here; use RSA (RS256) or Ed25519 (EdDSA)."
        )
    return key


# --- keys --------------------------------------------------------------------------------------


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _asymmetric_key(key: PrivateKey | PublicKey, *, source: str, signs: bool) -> JwtKey:
    public = key.public_key() if isinstance(key, PrivateKey) else key
    if isinstance(public, rsa.RSAPublicKey):
        if public.key_size < MIN_RSA_BITS:
            raise ImproperlyConfigured(
                f"{source}: RSA keys must have at least {MIN_RSA_BITS} bits, not {public.key_size}."
            )
        algorithm, jwk = "RS256", RSAAlgorithm.to_jwk(public, as_dict=True)
    else:
        algorithm, jwk = "EdDSA", OKPAlgorithm.to_jwk(public, as_dict=True)
    members = {name: jwk[name] for name in _THUMBPRINT_MEMBERS[jwk["kty"]]}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True).encode()
    kid = _b64url(hashlib.sha256(canonical).digest())  # RFC 7638 JWK thumbprint
    return JwtKey(
        kid=kid,
        algorithm=algorithm,
        signing_key=key if signs else None,
        verifying_key=public,
        public_jwk={**members, "kid": kid, "alg": algorithm, "use": "sig"},
    )


def _secret_key(secret: str, *, source: str, signs: bool, min_bytes: int = MIN_SECRET_BYTES) -> JwtKey:
    data = secret.encode()
    if len(data) < min_bytes:
        raise ImproperlyConfigured(f"{source}: an HS256 secret needs at least {min_bytes} bytes.")
    kid = _b64url(hmac.new(data, b"messenger jwt kid", hashlib.sha256).digest()[:16])
    return JwtKey(kid=kid, algorithm="HS256", signing_key=data if signs else None, verifying_key=data, public_jwk=None)
