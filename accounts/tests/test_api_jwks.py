"""GET /.well-known/jwks.json, read the way a gateway reads it: PyJWT's JWKS client, offline."""

import json

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from rest_framework.test import APIClient

from accounts.jwt_keys import keyring
from accounts.services import session_create
from accounts.tests.jwt_forge import (
    SECRET_A,
    SECRET_B,
    JwtConfig,
    access_claims,
    assemble,
    config_eddsa,
    config_rs256,
    ed25519_private_pem,
    hmac_signed,
    public_pem,
    rsa_private_pem,
)

pytestmark = pytest.mark.django_db
JWKS_URL = "/.well-known/jwks.json"


class OfflineJwksClient(jwt.PyJWKClient):
    """PyJWKClient (kid lookup, key parsing, refetch on an unknown kid) reading the JWK Set through
    the test client instead of over the network."""

    def __init__(self, *, cache: bool = False) -> None:
        super().__init__("http://testserver" + JWKS_URL, cache_jwk_set=cache, cache_keys=False)
        self.fetches = 0

    def fetch_data(self):
        self.fetches += 1
        response = APIClient().get(JWKS_URL)
        assert response.status_code == 200
        return response.json()


def gateway_verify(token: str, gateway: OfflineJwksClient | None = None) -> dict:
    """What a media or TURN gateway does with an access token and nothing but the JWK Set."""
    key = (gateway or OfflineJwksClient()).get_signing_key_from_jwt(token)
    claims = jwt.decode(
        token, key.key, algorithms=[key.algorithm_name], options={"require": ["exp", "iat", "sub", "sid"]}
    )
    if claims.get("token_type") != "access":
        raise jwt.InvalidTokenError("not an access token")
    return claims


def test_hs256_publishes_an_empty_set_never_the_secret(client, settings):
    JwtConfig("hs", "HS256", SECRET_A, verifying_keys=SECRET_B).apply(settings)
    response = client.get(JWKS_URL)
    assert response.status_code == 200
    assert response.json() == {"keys": []}
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "public, max-age=300"
    assert SECRET_A.encode() not in response.content and SECRET_B.encode() not in response.content


@pytest.mark.parametrize("config", [config_rs256, config_eddsa], ids=["RS256", "EdDSA"])
def test_a_gateway_verifies_access_tokens_with_the_published_keys_alone(config, settings, user, client):
    config().apply(settings)
    session, pair = session_create(user=user)
    # No authentication needed, nothing private inside.
    body = client.get(JWKS_URL).json()
    (jwk,) = body["keys"]
    assert set(jwk) == ({"kty", "n", "e"} if jwk["kty"] == "RSA" else {"kty", "crv", "x"}) | {"kid", "alg", "use"}
    assert jwk["use"] == "sig" and jwk["alg"] == config().algorithm and jwk["kid"] == keyring().signing.kid
    assert "d" not in jwk  # the private exponent or scalar

    claims = gateway_verify(pair.access)
    assert (claims["sub"], claims["sid"], claims["token_type"]) == (str(user.id), str(session.id), "access")
    # A refresh token is signed with the same key: the gateway's token_type check is what refuses it.
    with pytest.raises(jwt.InvalidTokenError, match="not an access token"):
        gateway_verify(pair.refresh)


def test_the_set_lists_verify_only_keys_after_the_signing_key(client, settings):
    JwtConfig(
        "rotating",
        "EdDSA",
        ed25519_private_pem(1),
        verifying_keys=public_pem(ed25519_private_pem(0)) + rsa_private_pem(0) + "," + SECRET_A,
    ).apply(settings)
    keys = client.get(JWKS_URL).json()["keys"]
    assert [key["alg"] for key in keys] == ["EdDSA", "EdDSA", "RS256"]
    assert keys[0]["kid"] == keyring().signing.kid
    assert "d" not in keys[2]  # a private key listed as verify-only is published as its public half
    assert SECRET_A not in json.dumps(keys)


def test_a_gateway_follows_a_rotation(settings, user):
    """Its cached set lacks the new kid: PyJWKClient fetches the set again and finds it."""
    old_key, new_key = ed25519_private_pem(0), ed25519_private_pem(1)
    JwtConfig("old", "EdDSA", old_key).apply(settings)
    _session, old_pair = session_create(user=user)
    gateway = OfflineJwksClient(cache=True)
    assert gateway_verify(old_pair.access, gateway)["token_type"] == "access"
    assert gateway.fetches == 1

    JwtConfig("new+old", "EdDSA", new_key, verifying_keys=public_pem(old_key)).apply(settings)
    _session, new_pair = session_create(user=user)
    assert gateway_verify(new_pair.access, gateway)["token_type"] == "access"
    assert gateway_verify(old_pair.access, gateway)["token_type"] == "access"
    assert gateway.fetches == 2


@pytest.mark.parametrize("config", [config_rs256, config_eddsa], ids=["RS256", "EdDSA"])
def test_the_gateway_logic_refuses_algorithm_confusion(config, settings, user):
    """The published key as an HMAC secret, `alg: none`: refused by the gateway as by the server."""
    config().apply(settings)
    session, _ = session_create(user=user)
    claims = access_claims(user_id=user.id, session_id=session.id)
    jwk = APIClient().get(JWKS_URL).json()["keys"][0]
    for secret in (json.dumps(jwk).encode(), public_pem_of_signing_key().encode()):
        forged = hmac_signed({"alg": "HS256", "kid": jwk["kid"]}, claims, secret)
        with pytest.raises(jwt.InvalidTokenError):
            gateway_verify(forged)
    with pytest.raises(jwt.InvalidTokenError):
        gateway_verify(assemble({"alg": "none", "kid": jwk["kid"]}, claims))


def public_pem_of_signing_key() -> str:
    return (
        keyring()
        .signing.verifying_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def test_other_methods_are_refused(client):
    response = client.post(JWKS_URL, {}, content_type="application/json")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


def test_the_endpoint_is_in_the_openapi_schema(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    operation = schema["paths"][JWKS_URL]["get"]
    assert operation["operationId"] == "jwks_retrieve"
    assert operation["security"] == [{}]  # public, like the login endpoints
    assert operation["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/JwkSet"
    }
