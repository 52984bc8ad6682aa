"""A small OpenID Connect provider for tests: plain HTTP on loopback, in a thread of the test process.

It serves discovery, its JWKS (an RSA key made at start), /authorize (signs in ``identity`` without
asking anything and sends the browser back with a code), /token (checks the client's secret, the
code, the redirect URI and the PKCE verifier; answers an RS256 ID token carrying the nonce) and
/userinfo. Its ID tokens are signed here with `cryptography` directly, not with the library the
appliance verifies them with, so a shared mistake cannot hide.

Knobs a test turns to make it misbehave: ``claims`` (replace, or with None remove, claims of the
next ID tokens), ``stranger_key`` (sign with a key it does not publish), ``email_only_in_userinfo``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.support.net import free_port


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _uint(n: int) -> str:
    return b64url(n.to_bytes((n.bit_length() + 7) // 8, "big"))


class Provider:
    def __init__(self, client_id: str = "ninjait", client_secret: str = "") -> None:
        self.client_id = client_id
        self.client_secret = client_secret or secrets.token_urlsafe(24)
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = "key-1"
        self.reset()
        self._server: ThreadingHTTPServer | None = None

    def reset(self) -> None:
        """Back to a well-behaved provider that signs in nobody in particular."""
        self.identity: dict[str, Any] = {"sub": "nobody", "email": "nobody@example.test", "email_verified": True}
        self.claims: dict[str, Any] = {}
        self.stranger_key: rsa.RSAPrivateKey | None = None
        self.email_only_in_userinfo = False
        self.codes: dict[str, dict[str, Any]] = {}
        self.access_tokens: dict[str, dict[str, Any]] = {}
        self.authorize_requests: list[dict[str, str]] = []

    def sign_in_as(self, email: str, *, verified: Any = True, name: str = "") -> None:
        self.identity = {"sub": "sub-" + hashlib.sha256(email.encode()).hexdigest()[:16], "email": email,
                         "email_verified": verified, "name": name or email.split("@")[0]}

    # --- what it serves ------------------------------------------------------------------------

    def discovery(self) -> dict[str, Any]:
        return {"issuer": self.issuer, "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token", "jwks_uri": f"{self.issuer}/jwks",
                "userinfo_endpoint": f"{self.issuer}/userinfo", "response_types_supported": ["code"],
                "subject_types_supported": ["public"], "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
                "code_challenge_methods_supported": ["S256"], "scopes_supported": ["openid", "email", "profile"]}

    def jwks(self) -> dict[str, Any]:
        numbers = self.key.public_key().public_numbers()
        return {"keys": [{"kty": "RSA", "use": "sig", "alg": "RS256", "kid": self.kid, "n": _uint(numbers.n),
                          "e": _uint(numbers.e)}]}

    def sign(self, claims: dict[str, Any]) -> str:
        header = {"alg": "RS256", "typ": "JWT", "kid": self.kid}
        signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
        key = self.stranger_key or self.key
        signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{b64url(signature)}"

    def authorize(self, query: dict[str, str]) -> tuple[int, dict[str, str], str]:
        self.authorize_requests.append(query)
        problems = [name for name, ok in (
            ("response_type", query.get("response_type") == "code"),
            ("client_id", query.get("client_id") == self.client_id),
            ("scope", "openid" in query.get("scope", "").split()),
            ("code_challenge_method", query.get("code_challenge_method") == "S256"),
            ("code_challenge", len(query.get("code_challenge", "")) == 43),
            ("redirect_uri", query.get("redirect_uri", "").startswith("https://")),
            ("state", bool(query.get("state"))), ("nonce", bool(query.get("nonce"))),
        ) if not ok]
        if problems:
            return 400, {}, "bad authorization request: " + ", ".join(problems)
        code = secrets.token_urlsafe(24)
        self.codes[code] = {"redirect_uri": query["redirect_uri"], "challenge": query["code_challenge"],
                            "nonce": query["nonce"], "identity": dict(self.identity)}
        target = f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}"
        return 302, {"Location": target}, ""

    def token(self, form: dict[str, str], authorization: str) -> tuple[int, dict[str, Any]]:
        if authorization.startswith("Basic "):
            raw = base64.b64decode(authorization[6:]).decode()
            client_id, _, secret = raw.partition(":")
            client_id, secret = unquote(client_id), unquote(secret)
        else:
            client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        if client_id != self.client_id or not secrets.compare_digest(secret, self.client_secret):
            return 401, {"error": "invalid_client"}
        grant = self.codes.pop(form.get("code", ""), None)  # a code works once
        if form.get("grant_type") != "authorization_code" or grant is None:
            return 400, {"error": "invalid_grant"}
        if form.get("redirect_uri") != grant["redirect_uri"]:
            return 400, {"error": "invalid_grant", "error_description": "redirect_uri differs"}
        verifier = form.get("code_verifier", "")
        if b64url(hashlib.sha256(verifier.encode()).digest()) != grant["challenge"]:
            return 400, {"error": "invalid_grant", "error_description": "PKCE verifier does not match"}
        identity = grant["identity"]
        access_token = secrets.token_urlsafe(24)
        self.access_tokens[access_token] = identity
        now = int(time.time())
        claims: dict[str, Any] = {"iss": self.issuer, "sub": identity["sub"], "aud": self.client_id,
                                  "iat": now, "exp": now + 300, "nonce": grant["nonce"],
                                  "at_hash": b64url(hashlib.sha256(access_token.encode()).digest()[:16]),
                                  **{k: v for k, v in identity.items() if k != "sub"}}
        if self.email_only_in_userinfo:
            claims.pop("email", None)
            claims.pop("email_verified", None)
        for name, value in self.claims.items():
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value
        return 200, {"access_token": access_token, "token_type": "Bearer", "expires_in": 300,
                     "id_token": self.sign(claims)}

    def userinfo(self, authorization: str) -> tuple[int, dict[str, Any]]:
        identity = self.access_tokens.get(authorization.removeprefix("Bearer ").strip())
        if identity is None:
            return 401, {"error": "invalid_token"}
        return 200, identity

    # --- running -------------------------------------------------------------------------------

    def start(self) -> Provider:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
                data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain" if isinstance(body, str) else "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                if url.path == "/.well-known/openid-configuration":
                    self._send(200, provider.discovery())
                elif url.path == "/jwks":
                    self._send(200, provider.jwks())
                elif url.path == "/authorize":
                    status, headers, text = provider.authorize(query)
                    self._send(status, text, headers)
                elif url.path == "/userinfo":
                    self._send(*provider.userinfo(self.headers.get("Authorization", "")))
                else:
                    self._send(404, "not found")

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                if urlsplit(self.path).path == "/token":
                    self._send(*provider.token(form, self.headers.get("Authorization", "")))
                else:
                    self._send(404, "not found")

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, name=f"oidc-provider-{self.port}", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
