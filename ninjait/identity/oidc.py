"""Single sign-on with OpenID Connect: one identity provider per tenant. No HTTP handlers here.

The flow is the authorization-code flow with PKCE (S256):

1. ``begin_login`` finds the tenant's provider through its discovery document and stores a
   pending sign-in (keyed hash of ``state``, the ``nonce``, the PKCE verifier) for ten minutes.
   The browser is sent to the provider and keeps ``state`` in a short-lived cookie, so a
   callback link made in someone else's browser is refused (login CSRF).
2. ``finish_login`` takes the pending sign-in once, exchanges the code at the token endpoint,
   checks the ID token against the provider's JWKS (signature, ``iss``, ``aud``/``azp``,
   ``exp``, ``iat``, ``nonce``, ``at_hash``), and matches a user of that tenant only, by
   ``email`` and only when ``email_verified`` is true. Optionally it creates the user with the
   tenant's default role. The session is the same as after a password sign-in.

The identity provider is trusted for MFA (configure it there); Super Admins, who reach beyond
one tenant and its provider, still pass this appliance's own second factor.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
from authlib.common.urls import add_params_to_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import InvalidClaimError, InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

from ninjait.core.crypto import CryptoError, new_token
from ninjait.core.db import Conn
from ninjait.core.errors import Forbidden, Invalid, NotFound, ServiceError, Unauthorized, Upstream
from ninjait.core.runtime import Runtime
from ninjait.identity import authn, service, store
from ninjait.identity.permissions import BUILTIN_ROLES
from ninjait.identity.principal import Actor, Principal

CALLBACK_PATH = "/login/sso/callback"
SCOPES = "openid email profile"
LOGIN_SECONDS = 600        # from the redirect to the provider until its answer must be back
CACHE_SECONDS = 300        # discovery documents and key sets; a key id we do not know refetches at once
HTTP_TIMEOUT = 10
LEEWAY = 120               # clock skew allowed on exp / iat / nbf
# Asymmetric algorithms only: "none" never, and HS* would make the client secret a signing key.
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
LOOPBACK = {"127.0.0.1", "::1", "localhost"}
ADMIN_ROLE_ID = 1          # Organization Admin


def _now() -> int:
    return int(time.time())


def redirect_uri(rt: Runtime) -> str:
    """What to register at the identity provider."""
    return rt.settings.base_url + CALLBACK_PATH


# --- configuration -------------------------------------------------------------------------

def _public(rt: Runtime, row: dict[str, Any] | None) -> dict[str, Any]:
    """The provider settings as admins see them: never the client secret, only whether one is set."""
    return {"configured": row is not None, "issuer": row["issuer"] if row else "",
            "client_id": row["client_id"] if row else "", "client_secret_set": bool(row and row["client_secret"]),
            "enabled": bool(row and row["enabled"]), "create_users": bool(row and row["create_users"]),
            "default_role_id": row["default_role_id"] if row else None,
            "updated_at": row["updated_at"] if row else None, "redirect_uri": redirect_uri(rt)}


def get_config(rt: Runtime, p: Principal) -> dict[str, Any]:
    with rt.db.read() as c:
        return _public(rt, store.get_oidc_provider(c, p.tenant_id))


def _check_url(url: str, what: str, error: type[ServiceError] = Invalid, field: str | None = None) -> str:
    parts = urlsplit(url)
    # Plain HTTP only to this machine: a provider beside the appliance, or a test's.
    if not parts.hostname or not (parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOOPBACK)):
        raise error(f"{what} must be an https:// URL", field=field)
    if parts.fragment or parts.username or parts.password:
        raise error(f"{what} must not contain a fragment or credentials", field=field)
    return url


def set_config(rt: Runtime, p: Principal, actor: Actor, *, issuer: str, client_id: str, client_secret: str | None,
               enabled: bool, create_users: bool, default_role_id: int | None) -> dict[str, Any]:
    """Save the tenant's provider. An empty or missing client secret keeps the stored one."""
    # Whoever controls the identity provider can sign in as any user of the tenant, so changing it
    # takes everything an Organization Admin holds, not only settings.write.
    if BUILTIN_ROLES[ADMIN_ROLE_ID].permissions() - p.everywhere:
        raise Forbidden("changing single sign-on needs every permission of an Organization Admin: whoever "
                        "controls the identity provider can sign in as any user of this tenant")
    issuer = issuer.strip()
    _check_url(issuer, "issuer", field="issuer")
    if urlsplit(issuer).query:
        raise Invalid("issuer must not contain a query", field="issuer")
    client_id = client_id.strip()
    if not 1 <= len(client_id) <= 255:
        raise Invalid("client_id must be 1-255 characters", field="client_id")
    if client_secret is not None and len(client_secret) > 1000:
        raise Invalid("client_secret must be at most 1000 characters", field="client_secret")
    sealed = rt.keyring.encrypt(client_secret.encode(), purpose="oidc", context=f"tenant:{p.tenant_id}") \
        if client_secret else None

    def save(c: Conn) -> dict[str, Any] | None:
        before = store.get_oidc_provider(c, p.tenant_id)
        secret = sealed or (before["client_secret"] if before else None)
        if not secret:
            raise Invalid("client_secret is required", field="client_secret")
        role_id = None
        if default_role_id is not None:
            # The same checks as assigning a role to a user: a role of this tenant, nothing beyond the admin's.
            try:
                [(role_id, _)] = service.resolve_assignments(c, p, [{"role_id": default_role_id}])
            except Invalid as exc:
                raise Invalid(exc.message, field="default_role_id") from None
        if create_users and role_id is None:
            raise Invalid("creating users needs a default role", field="default_role_id")
        store.save_oidc_provider(c, p.tenant_id, issuer, client_id, secret, enabled, create_users, role_id, _now())
        return before

    before = rt.db.write(save)
    after = get_config(rt, p)
    keys = ("issuer", "client_id", "enabled", "create_users", "default_role_id")
    rt.bus.emit("tenant.sso_updated", p.tenant_id, actor.as_dict(), object_type="tenant", object_id=p.tenant_id,
                summary={"before": {k: v for k, v in _public(rt, before).items() if k in keys} if before else None,
                         "after": {k: after[k] for k in keys}, "client_secret_changed": sealed is not None})
    return after


# --- talking to the provider ----------------------------------------------------------------

_cache: dict[str, tuple[float, dict[str, Any]]] = {}
_cache_lock = threading.Lock()


def _json(response: httpx.Response, what: str) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise Upstream(f"the identity provider's {what} is not a JSON object")
    return data


def _fetch(url: str, what: str, *, fresh: bool = False) -> dict[str, Any]:
    """GET a JSON document, cached for a few minutes: sign-ins should not each fetch discovery and keys."""
    with _cache_lock:
        hit = _cache.get(url)
    if hit and not fresh and hit[0] > time.monotonic():
        return hit[1]
    try:
        response = httpx.get(url, timeout=HTTP_TIMEOUT, headers={"Accept": "application/json"})
    except httpx.HTTPError as exc:
        raise Upstream(f"the identity provider's {what} could not be fetched ({type(exc).__name__})") from None
    if response.status_code != 200:
        raise Upstream(f"the identity provider's {what} answered HTTP {response.status_code}")
    data = _json(response, what)
    with _cache_lock:
        now = time.monotonic()
        for stale in [u for u, (until, _) in _cache.items() if until <= now]:
            del _cache[stale]
        _cache[url] = (now + CACHE_SECONDS, data)
    return data


def discover(issuer: str) -> dict[str, Any]:
    meta = _fetch(issuer.rstrip("/") + "/.well-known/openid-configuration", "discovery document")
    # Discovery must describe the issuer we were configured with (OpenID Connect Discovery 1.0, 4.3).
    if not isinstance(meta.get("issuer"), str) or meta["issuer"].rstrip("/") != issuer.rstrip("/"):
        raise Upstream("the discovery document names another issuer")
    optional = {"userinfo_endpoint"}
    for key in ("authorization_endpoint", "token_endpoint", "jwks_uri", *optional):
        if key in optional and key not in meta:
            continue
        if not isinstance(meta.get(key), str):
            raise Upstream(f"the discovery document has no {key}")
        _check_url(meta[key], f"the provider's {key}", Upstream)
    return meta


def _exchange_code(meta: dict[str, Any], client_id: str, secret: str, code: str, verifier: str,
                   redirect: str) -> dict[str, Any]:
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect, "code_verifier": verifier}
    methods = meta.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
    auth = None
    if "client_secret_basic" in methods:
        auth = (quote(client_id, safe=""), quote(secret, safe=""))  # RFC 6749, 2.3.1: encoded before Basic
    elif "client_secret_post" in methods:
        form.update(client_id=client_id, client_secret=secret)
    else:
        raise Upstream("the identity provider offers neither client_secret_basic nor client_secret_post")
    try:
        response = httpx.post(meta["token_endpoint"], data=form, auth=auth, timeout=HTTP_TIMEOUT,
                              headers={"Accept": "application/json"})
    except httpx.HTTPError as exc:
        raise Upstream(f"the identity provider's token endpoint could not be reached ({type(exc).__name__})") \
            from None
    if response.status_code != 200:
        try:
            error = str(response.json().get("error", ""))[:60]  # e.g. invalid_grant: a used or foreign code
        except (ValueError, AttributeError):
            error = ""
        raise Upstream(f"the identity provider's token endpoint answered HTTP {response.status_code} {error}".strip())
    tokens = _json(response, "token response")
    if not isinstance(tokens.get("id_token"), str):
        raise Upstream("the identity provider sent no ID token")
    return tokens


def _key_set(meta: dict[str, Any], *, fresh: bool = False) -> KeySet:
    try:
        return KeySet.import_key_set(_fetch(meta["jwks_uri"], "signing keys", fresh=fresh))  # type: ignore[arg-type]
    except (JoseError, ValueError, KeyError, TypeError):
        raise Upstream("the identity provider's signing keys cannot be read") from None


def verify_id_token(meta: dict[str, Any], client_id: str, id_token: str, nonce: str,
                    access_token: str | None) -> dict[str, Any]:
    """The ID token's claims once its signature and claims check out; raises JoseError otherwise."""
    offered = meta.get("id_token_signing_alg_values_supported") or ["RS256"]
    registry = JWSRegistry(algorithms=[a for a in offered if a in ALGORITHMS] or ["RS256"],
                           strict_check_header=False)  # providers add header fields of their own
    try:
        token = jwt.decode(id_token, _key_set(meta), registry=registry)
    except InvalidKeyIdError:  # signed with a key published since we fetched the set
        token = jwt.decode(id_token, _key_set(meta, fresh=True), registry=registry)
    claims = CodeIDToken(token.claims, token.header,
                         {"iss": {"essential": True, "value": meta["issuer"]},
                          "aud": {"essential": True, "value": client_id}},
                         {"nonce": nonce, "client_id": client_id, "access_token": access_token})
    claims.validate(leeway=LEEWAY)
    if claims["iat"] < _now() - LOGIN_SECONDS - LEEWAY:
        raise InvalidClaimError("iat")  # issued long before this sign-in began
    return dict(claims)


def _with_userinfo(meta: dict[str, Any], tokens: dict[str, Any], claims: dict[str, Any]) -> dict[str, Any]:
    """Some providers put the e-mail only in the userinfo answer; the ID token's claims win."""
    if ("email" in claims and "email_verified" in claims) or not meta.get("userinfo_endpoint") \
            or not isinstance(tokens.get("access_token"), str):
        return claims
    try:
        response = httpx.get(meta["userinfo_endpoint"], timeout=HTTP_TIMEOUT,
                             headers={"Authorization": f"Bearer {tokens['access_token']}",
                                      "Accept": "application/json"})
    except httpx.HTTPError as exc:
        raise Upstream(f"the identity provider's userinfo endpoint could not be reached ({type(exc).__name__})") \
            from None
    if response.status_code != 200:
        raise Upstream(f"the identity provider's userinfo endpoint answered HTTP {response.status_code}")
    info = _json(response, "userinfo answer")
    if info.get("sub") != claims["sub"]:  # OpenID Connect Core 5.3.2: otherwise it is about someone else
        raise Upstream("the userinfo answer is about another subject")
    return {**{k: info[k] for k in ("email", "email_verified", "name") if k in info}, **claims}


# --- sign-in -----------------------------------------------------------------------------------

def begin_login(rt: Runtime, tenant_slug: str, next_path: str, ip: str) -> tuple[str, str]:
    """The provider's authorization URL, and the state the browser keeps until the callback."""
    keys = authn.throttle_keys({"sso_ip": ip})
    authn.check_throttle(rt, keys)
    with rt.db.read() as c:
        tenant = store.tenant_by_slug(c, tenant_slug.strip().lower()[:41])
        provider = store.get_oidc_provider(c, tenant["id"]) if tenant else None
    if tenant is None or provider is None or not provider["enabled"]:
        raise NotFound("single sign-on is not set up for that tenant")
    meta = discover(provider["issuer"])
    state, nonce, verifier = new_token(), new_token(), new_token(48)
    now = _now()
    authn.record_failure(rt, keys)  # counts until the sign-in finishes; each start stores a row
    rt.db.write(lambda c: store.insert_oidc_login(c, rt.keyring.mac(state, purpose="oidc-state"), tenant["id"],
                                                  nonce, verifier, next_path[:2000], now, now + LOGIN_SECONDS))
    url = add_params_to_uri(meta["authorization_endpoint"], [
        ("response_type", "code"), ("client_id", provider["client_id"]), ("redirect_uri", redirect_uri(rt)),
        ("scope", SCOPES), ("state", state), ("nonce", nonce),
        ("code_challenge", create_s256_code_challenge(verifier)), ("code_challenge_method", "S256")])
    return url, state


class _Refused(Exception):
    """A sign-in that ends here: audited once in ``finish_login``, shown to the person as ``message``."""

    def __init__(self, tenant_id: int | None, reason: str, message: str, error: type[ServiceError] = Unauthorized,
                 user: dict[str, Any] | None = None, email: str = "") -> None:
        super().__init__(reason)
        self.tenant_id, self.reason, self.message, self.error = tenant_id, reason, message, error
        self.user, self.email = user, email


@dataclass(frozen=True)
class SsoOutcome:
    login: authn.LoginOutcome
    next_path: str
    created: bool


def finish_login(rt: Runtime, *, state: str, browser_state: str, code: str, error: str, ip: str, ua: str,
                 request_id: str = "") -> SsoOutcome:
    try:
        return _finish(rt, state, browser_state, code, error, ip, ua, request_id)
    except _Refused as refusal:
        user = refusal.user
        rt.bus.emit("auth.login_failed", refusal.tenant_id,
                    Actor(user["id"] if user else None, refusal.email or "anonymous", ip, request_id).as_dict(),
                    object_type="user", object_id=user["id"] if user else "",
                    summary={"method": "oidc", "reason": refusal.reason[:300]})
        raise refusal.error(refusal.message) from None


def _finish(rt: Runtime, state: str, browser_state: str, code: str, error: str, ip: str, ua: str,
            request_id: str) -> SsoOutcome:
    start_again = "this sign-in link is not valid in this browser or has expired; start single sign-on again"
    if not state or not browser_state or not secrets.compare_digest(state.encode(), browser_state.encode()):
        # Not the sign-in this browser started: a link made elsewhere (login CSRF), or a lost cookie.
        raise _Refused(None, "state does not match this browser", start_again, Invalid)
    pending = rt.db.write(lambda c: store.claim_oidc_login(c, rt.keyring.mac(state, purpose="oidc-state"), _now()))
    if pending is None:
        raise _Refused(None, "unknown, used or expired state", start_again, Invalid)
    tenant_id = pending["tenant_id"]
    if error:
        raise _Refused(tenant_id, f"provider error: {error[:100]}",
                       f"the identity provider did not sign you in ({error[:100]})")
    if not code:
        raise _Refused(tenant_id, "no code in the callback", start_again, Invalid)
    with rt.db.read() as c:
        provider = store.get_oidc_provider(c, tenant_id)
    if provider is None or not provider["enabled"]:
        raise _Refused(tenant_id, "single sign-on was turned off", "single sign-on is not set up for that tenant",
                       NotFound)
    unverifiable = "the identity provider's answer could not be verified; try again or ask your administrator"
    try:
        secret = rt.keyring.decrypt(provider["client_secret"], purpose="oidc", context=f"tenant:{tenant_id}").decode()
        meta = discover(provider["issuer"])
        tokens = _exchange_code(meta, provider["client_id"], secret, code, pending["code_verifier"], redirect_uri(rt))
        claims = verify_id_token(meta, provider["client_id"], tokens["id_token"], pending["nonce"],
                                 tokens.get("access_token"))
        claims = _with_userinfo(meta, tokens, claims)
    except Upstream as exc:
        raise _Refused(tenant_id, exc.message, exc.message, Upstream) from None
    except CryptoError:
        raise _Refused(tenant_id, "client secret does not decrypt", "single sign-on is misconfigured; ask your "
                       "administrator to enter the client secret again", Upstream) from None
    except JoseError as exc:
        raise _Refused(tenant_id, f"ID token refused: {exc}", unverifiable) from None

    user, created = _match_user(rt, provider, claims, ip, request_id)
    keys = authn.throttle_keys({"sso_ip": ip})
    login = authn.begin_session(rt, user, ip, ua, request_id, method="oidc", mfa_satisfied=True,
                                also=lambda c: store.clear_throttle(c, list(keys)))
    return SsoOutcome(login, pending["next_path"], created)


def _match_user(rt: Runtime, provider: dict[str, Any], claims: dict[str, Any], ip: str,
                request_id: str) -> tuple[dict[str, Any], bool]:
    """The tenant's user with the verified e-mail address; created with the default role if allowed."""
    tenant_id = provider["tenant_id"]
    raw = claims.get("email")
    try:
        email = service.normalise_email(raw if isinstance(raw, str) else "")
    except Invalid:
        raise _Refused(tenant_id, "no usable e-mail address in the claims",
                       "the identity provider did not tell us your e-mail address", Forbidden) from None
    # Some providers send the flag as a string; anything but true means "not verified".
    if claims.get("email_verified") not in (True, "true"):
        raise _Refused(tenant_id, "e-mail address not verified by the provider",
                       f"your identity provider has not verified the address {email}", Forbidden, email=email)
    no_account = f"there is no account for {email} in this tenant; ask your administrator"
    name = claims.get("name") if isinstance(claims.get("name"), str) else ""

    def find_or_create(c: Conn) -> tuple[dict[str, Any] | None, str]:
        user = store.user_by_email(c, email)  # e-mail addresses are unique across tenants
        if user is not None:
            return (user, "") if user["tenant_id"] == tenant_id else (None, "the user belongs to another tenant")
        if not provider["create_users"]:
            return None, "no such user and creating users is off"
        role = store.get_role(c, tenant_id, provider["default_role_id"] or 0)
        if role is None:
            return None, "no such user and the default role is gone"
        user_id = store.insert_user(c, tenant_id, email, name.strip()[:200], None, False, _now())
        store.replace_assignments(c, tenant_id, user_id, [(role["id"], None)], _now())
        return store.user_by_id(c, user_id), "created"

    user, note = rt.db.write(find_or_create)
    if user is None:
        raise _Refused(tenant_id, note, no_account, Forbidden, email=email)
    if user["disabled"]:
        raise _Refused(tenant_id, "account disabled", "this account is disabled; ask your administrator", Forbidden,
                       user=user, email=email)
    created = note == "created"
    if created:
        rt.bus.emit("user.created", tenant_id, Actor(None, "single sign-on", ip, request_id).as_dict(),
                    object_type="user", object_id=user["id"],
                    summary={"email": email, "via": "oidc",
                             "roles": [{"role_id": provider["default_role_id"], "organization_ids": None}]})
    return user, created
