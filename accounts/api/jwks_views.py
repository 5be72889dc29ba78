"""GET /.well-known/jwks.json: the public keys that verify this server's access tokens.

Another service (a media or TURN gateway) fetches this JWK Set (RFC 7517) and checks an access
token offline: the key its `kid` header names, that key's `alg` only, `exp`/`nbf`/`iat`, and
`token_type == "access"` (refresh tokens are signed with the same keys). With HS256 the set is
empty: a shared secret is never published. The path is fixed by RFC 8615, outside /api/v1/.
"""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.jwt_keys import keyring

# Verifiers cache the set this long. A new key is listed (as a verify-only key) at least this
# long before anything is signed with it, so every cache knows it in time (README, key rotation).
JWKS_MAX_AGE_SECONDS = 300


class JwkSerializer(serializers.Serializer):
    # Plain strings (their values in the help text): enum components would take generic names.
    kty = serializers.CharField(help_text="Key type: `RSA` or `OKP` (RFC 7518 §6, RFC 8037).")
    use = serializers.CharField(help_text="Always `sig`.")
    alg = serializers.CharField(help_text="The one algorithm this key verifies: `RS256` or `EdDSA`.")
    kid = serializers.CharField(help_text="The `kid` header of the tokens this key signed (RFC 7638 thumbprint).")
    n = serializers.CharField(required=False, help_text="RSA modulus (base64url).")
    e = serializers.CharField(required=False, help_text="RSA public exponent (base64url).")
    crv = serializers.CharField(required=False, help_text="OKP curve: `Ed25519` or `Ed448`.")
    x = serializers.CharField(required=False, help_text="OKP public key (base64url).")


class JwkSetSerializer(serializers.Serializer):
    keys = JwkSerializer(many=True, help_text="The signing key first, then the verify-only keys.")


class JwksView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        tags=["keys"],
        operation_id="jwks_retrieve",
        responses={200: JwkSetSerializer},
        summary="The public keys that verify access tokens (JWK Set; empty with HS256)",
    )
    def get(self, request: Request) -> Response:
        response = Response(keyring().jwk_set())
        response["Cache-Control"] = f"public, max-age={JWKS_MAX_AGE_SECONDS}"
        return response
