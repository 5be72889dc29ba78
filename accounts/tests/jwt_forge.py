"""Keys and hand-made JWTs for the token tests: what an attacker (or a misconfiguration) produces.

The forged tokens are assembled byte by byte (base64url JSON and a raw signature), not with
PyJWT's encoder, which refuses some of them (a PEM public key as an HMAC secret, `alg: none`
with a key): the server must refuse what a hostile client can send, not what PyJWT allows.
"""

import base64
import functools
import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from django.conf import settings

from accounts.jwt_keys import keyring
from accounts.services import session_create, session_revoke
from accounts.tests.factories import UserFactory
from accounts.tokens import token_pair_issue


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_json(value: Any) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def assemble(header: dict[str, Any], payload: dict[str, Any], signature: bytes = b"") -> str:
    return f"{b64url_json(header)}.{b64url_json(payload)}.{b64url(signature)}"


def hmac_signed(header: dict[str, Any], payload: dict[str, Any], secret: bytes) -> str:
    signing_input = f"{b64url_json(header)}.{b64url_json(payload)}".encode()
    return f"{signing_input.decode()}.{b64url(hmac.new(secret, signing_input, hashlib.sha256).digest())}"


def decode_part(token: str, index: int) -> dict[str, Any]:
    part = token.split(".")[index]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def tampered(token: str, **claims: Any) -> str:
    """The token with some claims changed and its header and signature kept."""
    header, _, signature = token.split(".")
    payload = {**decode_part(token, 1), **claims}
    return f"{header}.{b64url_json(payload)}.{signature}"


def access_claims(*, user_id, session_id, **overrides: Any) -> dict[str, Any]:
    """The claims of a valid access token (as accounts.tokens mints them), with overrides."""
    now = int(time.time())
    claims = {
        "token_type": "access",
        "exp": now + 300,
        "iat": now,
        "jti": uuid.uuid4().hex,
        "sub": str(user_id),
        "sid": str(session_id),
    }
    claims.update(overrides)
    return {name: value for name, value in claims.items() if value is not None}


def ring_signed(payload: dict[str, Any], **header: Any) -> str:
    """Signed with the server's own signing key: only the claims (or header) can be wrong."""
    key = keyring().signing
    full_header = {"alg": key.algorithm, "kid": key.kid, **header}
    signing_input = f"{b64url_json(full_header)}.{b64url_json(payload)}".encode()
    signature = jwt.get_algorithm_by_name(key.algorithm).sign(signing_input, key.signing_key)
    return f"{signing_input.decode()}.{b64url(signature)}"


# --- keys --------------------------------------------------------------------------------------


@functools.cache
def rsa_private_pem(index: int = 0, bits: int = 2048) -> str:
    """A fresh RSA key per index, generated once per test process."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


@functools.cache
def ed25519_private_pem(index: int = 0) -> str:
    key = ed25519.Ed25519PrivateKey.generate()
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def public_pem(private_pem: str) -> str:
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


SECRET_A = "hs256-test-secret-a-" + "a" * 32
SECRET_B = "hs256-test-secret-b-" + "b" * 32


@dataclass(frozen=True)
class JwtConfig:
    """One way to configure the signing key, applied with pytest-django's `settings`."""

    name: str
    algorithm: str
    signing_key: str
    verifying_keys: str = ""

    def apply(self, django_settings) -> None:
        django_settings.JWT_ALGORITHM = self.algorithm
        django_settings.JWT_SIGNING_KEY = self.signing_key
        django_settings.JWT_SIGNING_KEY_FILE = ""
        django_settings.JWT_VERIFYING_KEYS = self.verifying_keys
        django_settings.JWT_VERIFYING_KEY_FILES = []


def config_hs256() -> JwtConfig:
    return JwtConfig("HS256", "HS256", SECRET_A)


def config_rs256() -> JwtConfig:
    return JwtConfig("RS256", "RS256", rsa_private_pem(0))


def config_eddsa() -> JwtConfig:
    return JwtConfig("EdDSA", "EdDSA", ed25519_private_pem(0))


CONFIGS = (config_hs256, config_rs256, config_eddsa)


# --- the hostile catalogue ---------------------------------------------------------------------


@dataclass(frozen=True)
class Hostile:
    name: str
    token: str
    code: str  # the REST error code it must get


def victim_sessions(user):
    """(session, its pair, another user's session, a revoked session of `user`) for the catalogue."""
    session, pair = session_create(user=user, device_name="phone")
    other_session, _ = session_create(user=UserFactory(), device_name="theirs")
    revoked_session, _ = session_create(user=user, device_name="old laptop")
    session_revoke(session=revoked_session)
    return session, pair, other_session, revoked_session


def hostile_access_tokens(*, session, other_session, revoked_session) -> list[Hostile]:
    """Every access token a client can present that must be refused, for the configured key ring.

    `session` is the victim's active session; `other_session` another user's; `revoked_session`
    one of the victim's sessions that has been revoked.
    """
    ring = keyring()
    signing = ring.signing
    claims = access_claims(user_id=session.user_id, session_id=session.id)
    valid = token_pair_issue(session=session)
    leeway = settings.JWT_LEEWAY_SECONDS
    now = int(time.time())
    attacker = ed25519.Ed25519PrivateKey.generate()
    attacker_jwk = jwt.algorithms.OKPAlgorithm.to_jwk(attacker.public_key(), as_dict=True)
    jwks_text = json.dumps(ring.jwk_set()).encode()

    bad = "token_not_valid"
    tokens = [
        Hostile("garbage", "not-a-jwt", bad),
        Hostile("three empty parts", "..", bad),
        Hostile("header not an object", f"{b64url_json([1])}.{b64url_json(claims)}.", bad),
        Hostile("alg none", assemble({"alg": "none", "typ": "JWT"}, claims), bad),
        Hostile("alg none naming the signing key", assemble({"alg": "none", "kid": signing.kid}, claims), bad),
        Hostile("alg None", assemble({"alg": "None", "kid": signing.kid}, claims), bad),
        Hostile("alg NONE", assemble({"alg": "NONE"}, claims), bad),
        Hostile(
            "real signature under alg none",
            assemble({"alg": "none", "kid": signing.kid}, claims) + valid.access.rsplit(".", 1)[1],
            bad,
        ),
        # HS256 signed with public values: the kid, the published JWK Set, the empty secret.
        Hostile(
            "HS256 keyed with the kid",
            hmac_signed({"alg": "HS256", "kid": signing.kid}, claims, signing.kid.encode()),
            bad,
        ),
        Hostile(
            "HS256 keyed with the JWK Set", hmac_signed({"alg": "HS256", "kid": signing.kid}, claims, jwks_text), bad
        ),
        Hostile("HS256 keyed with nothing", hmac_signed({"alg": "HS256"}, claims, b""), bad),
        Hostile(
            "HS256 keyed with a guess", hmac_signed({"alg": "HS256", "kid": signing.kid}, claims, b"secret" * 8), bad
        ),
        # A key carried in the header (CVE-2018-0114 style): never trusted.
        Hostile(
            "own key embedded in the header",
            jwt.encode(claims, attacker, algorithm="EdDSA", headers={"jwk": attacker_jwk, "kid": "attacker"}),
            bad,
        ),
        Hostile(
            "own key under our kid", jwt.encode(claims, attacker, algorithm="EdDSA", headers={"kid": signing.kid}), bad
        ),
        Hostile("unknown kid", ring_signed(claims, kid="no-such-key"), bad),
        Hostile("kid not a string", ring_signed(claims, kid=["x"]), bad),
        Hostile("kid as a path", ring_signed(claims, kid="../../../../dev/null"), bad),
        # Wrong type of token.
        Hostile("refresh token used as access", valid.refresh, bad),
        Hostile(
            "no token_type",
            ring_signed(access_claims(user_id=session.user_id, session_id=session.id, token_type=None)),
            bad,
        ),
        Hostile("sliding token_type", ring_signed({**claims, "token_type": "sliding"}), bad),
        # Time.
        Hostile("expired", ring_signed({**claims, "exp": now - leeway - 60, "iat": now - leeway - 400}), bad),
        Hostile("no exp", ring_signed({k: v for k, v in claims.items() if k != "exp"}), bad),
        Hostile("nbf in the future", ring_signed({**claims, "nbf": now + leeway + 3600}), bad),
        Hostile("iat in the future", ring_signed({**claims, "iat": now + leeway + 3600}), bad),
        Hostile("exp not a number", ring_signed({**claims, "exp": "tomorrow"}), bad),
        # Tampered claims with the original signature.
        Hostile("tampered sid", tampered(valid.access, sid=str(other_session.id)), bad),
        Hostile("tampered sub", tampered(valid.access, sub=str(other_session.user_id)), bad),
        Hostile("tampered exp", tampered(valid.access, exp=now + 10**9), bad),
        Hostile(
            "tampered header",
            f"{b64url_json({'alg': signing.algorithm, 'kid': signing.kid, 'x': 1})}.{valid.access.split('.', 1)[1]}",
            bad,
        ),
        # Validly signed, but the claims do not name one live session of the user.
        Hostile("sid not a uuid", ring_signed({**claims, "sid": "1 OR 1=1"}), bad),
        Hostile("sub not a uuid", ring_signed({**claims, "sub": {"id": 1}}), bad),
        Hostile("no sid", ring_signed({k: v for k, v in claims.items() if k != "sid"}), bad),
        Hostile("revoked session", token_pair_issue(session=revoked_session).access, "session_revoked"),
        Hostile(
            "another user's session",
            ring_signed({**claims, "sid": str(other_session.id)}),
            "session_revoked",
        ),
        Hostile("unknown session", ring_signed({**claims, "sid": str(uuid.uuid4())}), "session_revoked"),
    ]
    if signing.public_jwk is not None:
        # The classic algorithm confusion: the published public key as an HMAC secret.
        pem = signing.verifying_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        der = signing.verifying_key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        tokens += [
            Hostile(
                "HS256 keyed with the public PEM", hmac_signed({"alg": "HS256", "kid": signing.kid}, claims, pem), bad
            ),
            Hostile("HS256 keyed with the public PEM, no kid", hmac_signed({"alg": "HS256"}, claims, pem), bad),
            Hostile(
                "HS256 keyed with the public DER", hmac_signed({"alg": "HS256", "kid": signing.kid}, claims, der), bad
            ),
        ]
    return tokens
