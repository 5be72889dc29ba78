"""The JWT key ring: algorithms, kids, rotation, and configuration mistakes refused at start-up."""

import os
import subprocess
import sys
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.core.exceptions import ImproperlyConfigured
from jwt.algorithms import OKPAlgorithm, RSAAlgorithm
from rest_framework.test import APIClient

from accounts.jwt_keys import keyring, keyring_from_settings
from accounts.services import session_create
from accounts.tests.jwt_forge import (
    CONFIGS,
    SECRET_A,
    SECRET_B,
    JwtConfig,
    access_claims,
    decode_part,
    ed25519_private_pem,
    hmac_signed,
    public_pem,
    rsa_private_pem,
)

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db


def bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def me_status(token: str) -> tuple[int, str | None]:
    response = bearer(token).get("/api/v1/users/me")
    return response.status_code, response.json().get("code")


def refresh(token: str):
    return APIClient().post("/api/v1/auth/refresh", {"refresh": token}, format="json")


@pytest.mark.parametrize("config", CONFIGS, ids=lambda make: make().name)
def test_round_trip(config, settings, user):
    """Sign in, call the API, refresh, open nothing else: every step under each algorithm."""
    config().apply(settings)
    signing = keyring().signing
    _session, pair = session_create(user=user)
    for token in (pair.access, pair.refresh):
        assert decode_part(token, 0) == {"alg": config().algorithm, "kid": signing.kid, "typ": "JWT"}
    assert me_status(pair.access) == (200, None)
    renewed = refresh(pair.refresh)
    assert renewed.status_code == 200, renewed.json()
    assert me_status(renewed.json()["access"]) == (200, None)
    assert decode_part(renewed.json()["access"], 0)["kid"] == signing.kid


def test_kids_are_rfc_7638_thumbprints(settings):
    # The example keys of RFC 7638 §3.1 (RSA) and RFC 8037 Appendix A.3 (Ed25519), with the
    # thumbprints those documents give.
    rsa_public = RSAAlgorithm.from_jwk(
        {
            "kty": "RSA",
            "e": "AQAB",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjB"
            "ZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8K"
            "JZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_x"
            "BniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
        }
    )
    ed_public = OKPAlgorithm.from_jwk(
        {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
    )
    pems = [
        key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
        for key in (rsa_public, ed_public)
    ]
    JwtConfig("x", "HS256", SECRET_A, verifying_keys="".join(pems)).apply(settings)
    assert [key["kid"] for key in keyring().jwk_set()["keys"]] == [
        "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs",
        "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k",
    ]


def test_an_hmac_kid_reveals_nothing_and_differs_per_secret(settings):
    JwtConfig("a", "HS256", SECRET_A).apply(settings)
    kid_a = keyring().signing.kid
    JwtConfig("b", "HS256", SECRET_B).apply(settings)
    kid_b = keyring().signing.kid
    assert kid_a != kid_b
    assert SECRET_A not in kid_a and len(kid_a) == 22


class TestRotation:
    def test_old_key_verifies_while_listed_and_stops_when_removed(self, settings, user):
        old_key, new_key = ed25519_private_pem(0), ed25519_private_pem(1)
        JwtConfig("old", "EdDSA", old_key).apply(settings)
        old_kid = keyring().signing.kid
        _session, old_pair = session_create(user=user)

        # Step 2 of the rotation: sign with the new key, keep the old one as verify-only.
        JwtConfig("both", "EdDSA", new_key, verifying_keys=public_pem(old_key)).apply(settings)
        new_kid = keyring().signing.kid
        assert [key["kid"] for key in keyring().jwk_set()["keys"]] == [new_kid, old_kid]
        assert me_status(old_pair.access) == (200, None)
        renewed = refresh(old_pair.refresh)  # nobody is logged out: the old refresh token still works
        assert renewed.status_code == 200, renewed.json()
        new_access = renewed.json()["access"]
        assert decode_part(new_access, 0)["kid"] == new_kid

        # Step 3: the old key removed. Its tokens stop; the new ones go on.
        JwtConfig("new", "EdDSA", new_key).apply(settings)
        assert me_status(old_pair.access) == (401, "token_not_valid")
        assert me_status(new_access) == (200, None)

    def test_hs256_secrets_rotate_the_same_way(self, settings, user):
        JwtConfig("a", "HS256", SECRET_A).apply(settings)
        _session, old_pair = session_create(user=user)
        JwtConfig("b+a", "HS256", SECRET_B, verifying_keys=f"{SECRET_A}, {'c' * 40}").apply(settings)
        assert me_status(old_pair.access) == (200, None)
        assert keyring().jwk_set() == {"keys": []}
        JwtConfig("b", "HS256", SECRET_B).apply(settings)
        assert me_status(old_pair.access) == (401, "token_not_valid")

    def test_moving_from_hs256_to_eddsa_keeps_the_old_tokens_while_the_secret_is_listed(self, settings, user):
        JwtConfig("hs", "HS256", SECRET_A).apply(settings)
        session, old_pair = session_create(user=user)
        # Tokens minted before kids existed carry none; they are checked against the HS256 keys.
        legacy = hmac_signed(
            {"alg": "HS256", "typ": "JWT"}, access_claims(user_id=user.id, session_id=session.id), SECRET_A.encode()
        )
        assert me_status(legacy) == (200, None)

        JwtConfig("ed+hs", "EdDSA", ed25519_private_pem(0), verifying_keys=SECRET_A).apply(settings)
        assert me_status(old_pair.access) == (200, None)
        assert me_status(legacy) == (200, None)
        assert [key["alg"] for key in keyring().jwk_set()["keys"]] == ["EdDSA"]  # the secret stays private

        JwtConfig("ed", "EdDSA", ed25519_private_pem(0)).apply(settings)
        assert me_status(old_pair.access) == (401, "token_not_valid")
        assert me_status(legacy) == (401, "token_not_valid")

    def test_verifying_keys_from_files(self, settings, tmp_path, user):
        JwtConfig("rsa", "RS256", rsa_private_pem(0)).apply(settings)
        _session, old_pair = session_create(user=user)
        (tmp_path / "old.pem").write_text(rsa_private_pem(0))  # a private key file: only its public half is kept
        (tmp_path / "secret").write_text(SECRET_A + "\n")
        (tmp_path / "new.pem").write_text(ed25519_private_pem(0))
        settings.JWT_ALGORITHM = "EdDSA"
        settings.JWT_SIGNING_KEY = ""
        settings.JWT_SIGNING_KEY_FILE = str(tmp_path / "new.pem")
        settings.JWT_VERIFYING_KEY_FILES = [str(tmp_path / "old.pem"), str(tmp_path / "secret")]
        ring = keyring()
        assert [(key.algorithm, key.signing_key is None) for key in ring.keys] == [
            ("EdDSA", False),
            ("RS256", True),
            ("HS256", True),
        ]
        assert me_status(old_pair.access) == (200, None)

    def test_a_pem_key_in_one_line_with_escaped_newlines(self, settings):
        JwtConfig("one-line", "EdDSA", ed25519_private_pem(0).replace("\n", "\\n")).apply(settings)
        assert keyring().signing.algorithm == "EdDSA"


def _ec_private_pem() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def _encrypted_pem() -> str:
    key = serialization.load_pem_private_key(rsa_private_pem(0).encode(), password=None)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"passphrase"),
    ).decode()


MISCONFIGURATIONS = {
    "unknown algorithm": ({"JWT_ALGORITHM": "ES256"}, "JWT_ALGORITHM must be one of HS256, RS256, EdDSA"),
    "algorithm none": ({"JWT_ALGORITHM": "none"}, "JWT_ALGORITHM must be one of"),
    "algorithm in lower case": ({"JWT_ALGORITHM": "hs256"}, "JWT_ALGORITHM must be one of"),
    "RS256 without a key": ({"JWT_ALGORITHM": "RS256"}, "JWT_ALGORITHM=RS256 needs a private key"),
    "EdDSA without a key": ({"JWT_ALGORITHM": "EdDSA"}, "JWT_ALGORITHM=EdDSA needs a private key"),
    "EdDSA with an RSA key": (
        {"JWT_ALGORITHM": "EdDSA", "JWT_SIGNING_KEY": lambda: rsa_private_pem(0)},
        "is a key for RS256, but JWT_ALGORITHM=EdDSA",
    ),
    "RS256 with an Ed25519 key": (
        {"JWT_ALGORITHM": "RS256", "JWT_SIGNING_KEY": lambda: ed25519_private_pem(0)},
        "is a key for EdDSA, but JWT_ALGORITHM=RS256",
    ),
    "a public key to sign with": (
        {"JWT_ALGORITHM": "RS256", "JWT_SIGNING_KEY": lambda: public_pem(rsa_private_pem(0))},
        "is a public key; the signing key must be the private key",
    ),
    "a short RSA key": (
        {"JWT_ALGORITHM": "RS256", "JWT_SIGNING_KEY": lambda: rsa_private_pem(0, bits=1024)},
        "RSA keys must have at least 2048 bits, not 1024",
    ),
    "an encrypted key": (
        {"JWT_ALGORITHM": "RS256", "JWT_SIGNING_KEY": _encrypted_pem},
        "encrypted private keys are not supported",
    ),
    "an EC key": ({"JWT_ALGORITHM": "RS256", "JWT_SIGNING_KEY": _ec_private_pem}, "cannot sign JWTs here"),
    "a garbled PEM": (
        {
            "JWT_ALGORITHM": "EdDSA",
            "JWT_SIGNING_KEY": "-----BEGIN PRIVATE KEY-----\nbm9wZQ==\n-----END PRIVATE KEY-----",
        },
        "not a readable PEM key",
    ),
    "two signing keys": (
        {"JWT_ALGORITHM": "EdDSA", "JWT_SIGNING_KEY": lambda: ed25519_private_pem(0) + ed25519_private_pem(1)},
        "must hold exactly one PEM private key",
    ),
    "HS256 with a PEM key": (
        {"JWT_ALGORITHM": "HS256", "JWT_SIGNING_KEY": lambda: ed25519_private_pem(0)},
        "is a PEM key, but JWT_ALGORITHM=HS256 signs with a secret",
    ),
    "a short HS256 secret": (
        {"JWT_SIGNING_KEY": "too-short"},
        "JWT_SIGNING_KEY: an HS256 secret needs at least 32 bytes",
    ),
    "a key and a key file": (
        {"JWT_SIGNING_KEY": SECRET_A, "JWT_SIGNING_KEY_FILE": "/etc/hostname"},
        "Set JWT_SIGNING_KEY or JWT_SIGNING_KEY_FILE, not both",
    ),
    "a missing key file": (
        {"JWT_ALGORITHM": "EdDSA", "JWT_SIGNING_KEY_FILE": "/nonexistent/jwt.pem"},
        "JWT_SIGNING_KEY_FILE: cannot read /nonexistent/jwt.pem",
    ),
    "a missing verifying key file": (
        {"JWT_VERIFYING_KEY_FILES": ["/nonexistent/old.pem"]},
        "JWT_VERIFYING_KEY_FILES: cannot read /nonexistent/old.pem",
    ),
    "a cut-short verifying key": (
        {"JWT_VERIFYING_KEYS": lambda: public_pem(rsa_private_pem(0))[:-30]},
        "JWT_VERIFYING_KEYS: a PEM block is cut short",
    ),
    "a short verifying secret": (
        {"JWT_VERIFYING_KEYS": f"{SECRET_B},short"},
        "JWT_VERIFYING_KEYS: an HS256 secret needs at least 32 bytes",
    ),
}


@pytest.mark.parametrize("name", MISCONFIGURATIONS)
def test_misconfiguration_is_improperly_configured(name, settings):
    overrides, message = MISCONFIGURATIONS[name]
    JwtConfig("base", "HS256", "").apply(settings)
    for setting, value in overrides.items():
        setattr(settings, setting, value() if callable(value) else value)
    with pytest.raises(ImproperlyConfigured) as refused:
        keyring_from_settings()
    assert message in str(refused.value)


def test_without_jwt_signing_key_hs256_signs_with_the_secret_key_whatever_its_length(settings):
    # A build step runs on a throwaway DJANGO_SECRET_KEY; production refuses one under 50
    # characters (messenger/tests/test_platform.py).
    JwtConfig("fallback", "HS256", "").apply(settings)
    settings.SECRET_KEY = "build-only"
    assert keyring().signing.verifying_key == b"build-only"


def test_a_verifying_key_file_with_pem_and_other_text_is_refused(settings, tmp_path):
    mixed = tmp_path / "mixed.pem"
    mixed.write_text(public_pem(rsa_private_pem(0)) + SECRET_A)
    JwtConfig("base", "HS256", SECRET_A).apply(settings)
    settings.JWT_VERIFYING_KEY_FILES = [str(mixed)]
    with pytest.raises(ImproperlyConfigured, match="holds PEM keys and other text"):
        keyring_from_settings()


def _start(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("JWT_", "DJANGO_"))}
    return subprocess.run(
        command, cwd=ROOT, env={**clean, **env}, capture_output=True, text=True, timeout=60, check=False
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"JWT_ALGORITHM": "ES256"}, "JWT_ALGORITHM must be one of HS256, RS256, EdDSA, not 'ES256'"),
        ({"JWT_ALGORITHM": "RS256"}, "JWT_ALGORITHM=RS256 needs a private key"),
    ],
)
def test_the_server_refuses_to_start(env, message):
    server = _start(
        [sys.executable, "-m", "messenger.server", "-b", "127.0.0.1", "-p", "0", "messenger.asgi:application"], env
    )
    assert server.returncode != 0
    assert f"django.core.exceptions.ImproperlyConfigured: {message}" in server.stderr, server.stderr
    check = _start([sys.executable, "manage.py", "check"], env)
    assert check.returncode != 0
    assert message in check.stderr


def test_the_decoder_never_takes_the_algorithm_from_the_header(settings, user):
    """PyJWT's own guard aside: the ring hands jwt.decode exactly one algorithm, the key's."""
    JwtConfig("rsa", "RS256", rsa_private_pem(0)).apply(settings)
    session, _ = session_create(user=user)
    claims = access_claims(user_id=user.id, session_id=session.id)
    ring = keyring()
    for alg in ("RS384", "RS512", "PS256"):
        forged = jwt.encode(claims, ring.signing.signing_key, algorithm=alg, headers={"kid": ring.signing.kid})
        assert me_status(forged) == (401, "token_not_valid")
