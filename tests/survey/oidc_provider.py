"""A small OpenID Connect provider on loopback, for the single sign-on tests.

It implements what a real provider does for the authorization code flow:
discovery, a JWKS, an authorization endpoint (no login page: it signs in
whoever the test says is at the keyboard), and a token endpoint that checks
the client's secret, the redirect URI and the PKCE verifier before it issues
an RS256-signed ID token. Tests can make it misbehave (wrong issuer, another
key, a replayed nonce, an unverified email) to see Negoscope refuse.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from flask import Flask, abort, jsonify, redirect, request
from joserfc import jwt
from joserfc.jwk import RSAKey
from werkzeug.serving import make_server


@dataclass
class Provider:
    """The provider's state, and the switches tests flip."""

    client_id: str = "negoscope-test"
    client_secret: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    email: str = "coach@sso.example"
    email_verified: bool | None = True
    issuer: str = ""
    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, private=True))
    # Misbehaviour, for the refusal tests:
    sign_with_other_key: bool = False
    claimed_issuer: str | None = None
    nonce_override: str | None = None
    claimed_audience: str | None = None
    expired: bool = False
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    token_requests: int = 0


def _app(provider: Provider) -> Flask:
    app = Flask("oidc-test-provider")

    @app.get("/.well-known/openid-configuration")
    def discovery() -> Any:
        return jsonify(
            issuer=provider.issuer,
            authorization_endpoint=f"{provider.issuer}/authorize",
            token_endpoint=f"{provider.issuer}/token",
            jwks_uri=f"{provider.issuer}/jwks",
            response_types_supported=["code"],
            subject_types_supported=["public"],
            id_token_signing_alg_values_supported=["RS256"],
            code_challenge_methods_supported=["S256"],
            token_endpoint_auth_methods_supported=["client_secret_basic", "client_secret_post"],
        )

    @app.get("/jwks")
    def jwks() -> Any:
        public = provider.key.as_dict(private=False)
        public.update(kid="k1", use="sig", alg="RS256")
        return jsonify(keys=[public])

    @app.get("/authorize")
    def authorize() -> Any:
        args = request.args
        if args.get("client_id") != provider.client_id or args.get("response_type") != "code":
            abort(400)
        if args.get("code_challenge_method") != "S256" or not args.get("code_challenge"):
            abort(400)  # Negoscope must use PKCE
        code = secrets.token_urlsafe(16)
        provider.codes[code] = {
            "redirect_uri": args["redirect_uri"],
            "nonce": args.get("nonce"),
            "challenge": args["code_challenge"],
            "email": provider.email,
        }
        query = urlencode({"code": code, "state": args.get("state", "")})
        return redirect(f"{args['redirect_uri']}?{query}")

    @app.post("/token")
    def token() -> Any:
        provider.token_requests += 1
        client_id, secret = _client_credentials()
        if client_id != provider.client_id or secret != provider.client_secret:
            return jsonify(error="invalid_client"), 401
        grant = provider.codes.pop(request.form.get("code", ""), None)
        if grant is None or request.form.get("redirect_uri") != grant["redirect_uri"]:
            return jsonify(error="invalid_grant"), 400
        verifier = request.form.get("code_verifier", "")
        digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        if digest.rstrip(b"=").decode() != grant["challenge"]:
            return jsonify(error="invalid_grant", error_description="PKCE"), 400
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": provider.claimed_issuer or provider.issuer,
            "sub": hashlib.sha256(grant["email"].encode()).hexdigest()[:20],
            "aud": provider.claimed_audience or provider.client_id,
            "iat": now - 7200 if provider.expired else now,
            "exp": now - 3600 if provider.expired else now + 300,
            "nonce": provider.nonce_override or grant["nonce"],
            "email": grant["email"],
        }
        if provider.email_verified is not None:
            claims["email_verified"] = provider.email_verified
        key = (
            RSAKey.generate_key(2048, private=True)
            if provider.sign_with_other_key
            else provider.key
        )
        id_token = jwt.encode({"alg": "RS256", "kid": "k1"}, claims, key)
        return jsonify(
            access_token=secrets.token_urlsafe(16),
            token_type="Bearer",
            expires_in=300,
            id_token=id_token,
        )

    return app


def _client_credentials() -> tuple[str | None, str | None]:
    if request.authorization is not None:
        return request.authorization.username, request.authorization.password
    return request.form.get("client_id"), request.form.get("client_secret")


@contextmanager
def running_provider() -> Iterator[Provider]:
    """A provider serving on a free loopback port until the block ends."""
    provider = Provider()
    server = make_server("127.0.0.1", 0, _app(provider), threaded=True)
    provider.issuer = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield provider
    finally:
        server.shutdown()
        thread.join(timeout=5)
