"""Access rules that enforce: one decorator per rule applies authentication, CSRF and rate keys itself.

``@rules.public(...)``, ``@rules.agency(scope=..., limit=...)`` and ``@rules.citizen(api=..., ...)`` sit right
under the route decorator (above ``@bp.input``/``@bp.output``/``@bp.doc``). Each wraps the view in the
mechanisms its rule needs, in the order the contracts rely on, and records on the view what it applied
(``rule_of(view)``). ``check_access_rules`` (called by ``create_app``) walks the wrappers of every view and
refuses to start when a view has no rule, two rules, or an authentication or rate-limit wrapper that its rule
did not apply: deny by default, like Sentry's ``permission_classes`` and warehouse's required ``permission=``.

A new rule (``representative``, for guardians) is one more decorator built with ``_ruled`` and one more entry
in ``REQUIRED``. Operators have no HTTP rule: they act through the ``flask --app wallet ...`` CLI, and the
probes an orchestrator calls (/healthz, /readyz) are public.
"""
from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import wraps
from typing import Any, Literal, TypeVar, cast

from flask import Flask, g

from wallet.agencies.auth import agency_auth, agency_rate_key, failed_auth_limit
from wallet.citizens.auth import citizen_required
from wallet.extensions import limiter, runtime
from wallet.throttle import client_bucket

F = TypeVar("F", bound=Callable[..., Any])
RuleName = Literal["public", "agency", "citizen"]

# what a wrapper does, as the start-up check names it
AGENCY_BEARER = "agency bearer auth"  # Authorization: Bearer <key>, 401 problem+json without a valid key
CITIZEN_SESSION = "citizen session"  # the session cookie, same-origin + CSRF on unsafe methods, session touch
RATE_LIMIT = "rate limit"  # a Flask-Limiter limit
SIGN_IN_BUDGET = "sign-in budget"  # per_address: every sign-in attempt spends the address's budget

# endpoint families of the agency API. Every API key holds every scope today (the per-type rule is
# ``agencies.allowed_types``, checked by the services); the scope names the family a future key may be limited to
AGENCY_SCOPES = frozenset({"documents:push", "documents:read", "documents:revoke", "guardianships",
                           "webhooks:read"})

# per rule: the mechanisms a view must have, and those it must not have
REQUIRED: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "public": (frozenset(), frozenset({AGENCY_BEARER, CITIZEN_SESSION})),
    "agency": (frozenset({AGENCY_BEARER, RATE_LIMIT}), frozenset({CITIZEN_SESSION, SIGN_IN_BUDGET})),
    "citizen": (frozenset({CITIZEN_SESSION}), frozenset({AGENCY_BEARER, SIGN_IN_BUDGET})),
}

# endpoints that are not views of ours: Flask's static files, apiflask's OpenAPI document
EXEMPT_ENDPOINTS = frozenset({"static"})
EXEMPT_PREFIXES = ("openapi.",)


@dataclass(frozen=True)
class Rule:
    """What a rule applied to one view (``rule_of(view)``): read by the start-up check and the permission tests."""

    name: RuleName
    applied: frozenset[str]  # mechanisms (AGENCY_BEARER, CITIZEN_SESSION, RATE_LIMIT, SIGN_IN_BUDGET)
    limits: tuple[str, ...] = ()  # readable: "1200/minute per agency key", "exempt" ...
    api: bool | None = None  # citizen: JSON answers (401) or pages (a redirect to sign-in)
    scope: str | None = None  # agency: the endpoint family


Layer = tuple[str | None, Callable[[Any], Any]]  # (mechanism or None, decorator)

_RULES: weakref.WeakKeyDictionary[Callable[..., Any], Rule] = weakref.WeakKeyDictionary()
_OWNED: weakref.WeakSet[Callable[..., Any]] = weakref.WeakSet()  # wrappers made by a rule


def per_address(view: F) -> F:
    """Sign-in routes: every request (valid or not) spends the address's ``LOGIN_IP_LIMIT`` (wallet.throttle)."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        throttle = runtime().sign_in_throttle
        if throttle is not None:
            throttle.attempt(client_bucket())
        return view(*args, **kwargs)

    return cast(F, wrapper)


# ---------------------------------------------------------------------------------------------- the rules

def public(*, limit: str | None = None, methods: Sequence[str] | None = None, shared: str | None = None,
           sign_in: bool = False, exempt: bool = False, overall: str | None = None) -> Callable[[F], F]:
    """Anyone, no credentials. ``limit`` per client address (only for ``methods``; ``shared``: one budget
    across the views naming the same scope); ``sign_in``: the address's sign-in budget; ``exempt``: no limit;
    ``overall``: one budget for every client together (guessing from many addresses)."""
    layers: list[Layer] = []
    limits: list[str] = []
    if overall:
        layers.append((RATE_LIMIT, limiter.shared_limit(overall, scope=f"{shared or 'view'}-overall",
                                                        key_func=_everyone) if shared
                       else limiter.limit(overall, key_func=_everyone)))
        limits.append(f"{overall} overall")
    if sign_in:
        layers.append((SIGN_IN_BUDGET, per_address))
        limits.append("sign-in budget per address")
    if limit:
        layers.append((RATE_LIMIT, _limit(limit, methods=methods, shared=shared)))
        limits.append(f"{limit} per address" + (f" shared:{shared}" if shared else "")
                      + (f" on {','.join(methods)}" if methods else ""))
    if exempt:
        layers.append((None, limiter.exempt))
        limits.append("exempt")
    return _ruled(Rule("public", _mechanisms(layers), tuple(limits)), layers)


def agency(*, scope: str, limit: str) -> Callable[[F], F]:
    """An agency with a valid API key (``Authorization: Bearer``; 401 problem+json otherwise).

    Order: ``limit`` per presented key (``agency_rate_key``) and the per-address budget of refused keys
    (``failed_auth_limit``) are checked first, then the key: bad keys fill only their own buckets."""
    if scope not in AGENCY_SCOPES:
        raise ValueError(f"unknown agency scope {scope!r} (known: {', '.join(sorted(AGENCY_SCOPES))})")
    layers: list[Layer] = [(RATE_LIMIT, limiter.limit(limit, key_func=agency_rate_key)),
                           (RATE_LIMIT, failed_auth_limit()), (AGENCY_BEARER, _bearer)]
    return _ruled(Rule("agency", _mechanisms(layers), (f"{limit} per agency key", "refused keys per address"),
                       api=True, scope=scope), layers)


def citizen(*, api: bool, limit: str | None = None, bucket: str | None = None) -> Callable[[F], F]:
    """A signed-in citizen (API: 401 problem+json; pages: a redirect to sign-in). Unsafe methods must be
    same-origin and carry the session's CSRF token (403 csrf_failed); the session is touched (idle timeout).
    ``limit`` per citizen, in ``bucket``, checked after the session (so it counts the citizen, not the address)."""
    layers: list[Layer] = [(CITIZEN_SESSION, citizen_required(api=api))]
    limits: tuple[str, ...] = ()
    if limit:
        if not bucket:
            raise ValueError("a citizen limit needs the name of its bucket")
        layers.append((RATE_LIMIT, limiter.limit(limit, key_func=_citizen_key(bucket))))
        limits = (f"{limit} per citizen ({bucket})",)
    return _ruled(Rule("citizen", _mechanisms(layers), limits, api=api), layers)


def rule_of(view: Callable[..., Any]) -> Rule | None:
    """The rule applied to ``view`` (the outermost one, if someone stacked two)."""
    return next((_RULES[layer] for layer in _layers(view) if layer in _RULES), None)


# ---------------------------------------------------------------------------------------------- mechanisms

def _limit(value: str, *, methods: Sequence[str] | None, shared: str | None) -> Any:
    """A Flask-Limiter limit per client address (the limiter's default key)."""
    if shared:
        return limiter.shared_limit(value, scope=shared, methods=list(methods) if methods else None)
    return limiter.limit(value, methods=list(methods) if methods else None)


def _everyone() -> str:
    return "everyone"


def _citizen_key(bucket: str) -> Callable[[], str]:
    def key() -> str:
        return f"{bucket}:{getattr(g.get('citizen'), 'id', 'anon')}"

    return key


def _bearer(view: F) -> F:
    """The agency API key, as apiflask's ``auth_required(agency_auth)`` applies it: documented in the OpenAPI
    document (``_spec["auth"]``) and checked by Flask-HTTPAuth (401 problem+json through the error processor)."""
    spec = view.__dict__.setdefault("_spec", {})
    spec.update(auth=agency_auth, roles=[])
    return cast(F, agency_auth.login_required(view))


def _mechanisms(layers: Sequence[Layer]) -> frozenset[str]:
    return frozenset(m for m, _ in layers if m is not None)


def _ruled(rule: Rule, layers: Sequence[Layer]) -> Callable[[F], F]:
    """Wrap a view in ``layers`` (outermost first), then in a thin layer that carries the rule."""

    def deco(view: F) -> F:
        inner: Callable[..., Any] = view
        for _mechanism, decorator in reversed(layers):
            wrapped = decorator(inner)
            _OWNED.update(_layers(wrapped, stop=inner))
            inner = wrapped

        @wraps(inner)
        def ruled(*args: Any, **kwargs: Any) -> Any:
            return inner(*args, **kwargs)

        ruled._wallet_rule = rule  # type: ignore[attr-defined]  # what was applied, on the view itself
        _RULES[ruled] = rule
        return ruled  # type: ignore[return-value]

    return deco


def _probe() -> None:
    """A function to wrap once at import: the wrappers' code objects identify them in any view's chain."""


_SESSION_CODE = citizen_required(api=True)(_probe).__code__
_BEARER_CODE = agency_auth.login_required(_probe).__code__
_SIGN_IN_CODE = per_address(_probe).__code__
# Flask-Limiter's wrapper is made in the same file as its limit object's __call__ (a limit made, not applied)
_LIMITER_FILE = type(limiter.limit("1/second")).__call__.__code__.co_filename


def _mechanism(layer: Callable[..., Any]) -> str | None:
    """What a wrapper does, from its code: the same code object whoever applied it."""
    code = getattr(layer, "__code__", None)
    if code is None:
        return None
    if code is _SESSION_CODE:
        return CITIZEN_SESSION
    if code is _BEARER_CODE:
        return AGENCY_BEARER
    if code is _SIGN_IN_CODE:
        return SIGN_IN_BUDGET
    if code.co_filename == _LIMITER_FILE:
        return RATE_LIMIT
    return None


def _layers(fn: Callable[..., Any] | None, stop: Callable[..., Any] | None = None) -> Iterator[Callable[..., Any]]:
    """``fn`` and every function it wraps (``__wrapped__``, set by functools.wraps), down to ``stop``."""
    seen: set[int] = set()
    while fn is not None and fn is not stop and id(fn) not in seen:
        seen.add(id(fn))
        yield fn
        fn = getattr(fn, "__wrapped__", None)


# ---------------------------------------------------------------------------------------------- start-up check

class AccessRuleError(RuntimeError):
    """A view whose access rule is missing or disagrees with what runs: the app refuses to start."""


def view_problems(view: Callable[..., Any]) -> list[str]:
    """Why ``view`` may not be served (empty: its one rule applied exactly what the rule requires)."""
    found: list[Rule] = []
    owned: set[str] = set()
    foreign: list[str] = []
    for layer in _layers(view):
        if layer in _RULES:
            found.append(_RULES[layer])
        elif (mechanism := _mechanism(layer)) is not None:
            (owned.add(mechanism) if layer in _OWNED else foreign.append(mechanism))
    if not found:
        return ["no access rule (deny by default: add @rules.public, @rules.agency or @rules.citizen)"]
    problems = [f"{m} applied outside its access rule" for m in foreign]
    if len(found) > 1:
        problems.append("more than one access rule: " + ", ".join(r.name for r in found))
    rule = found[0]
    must, must_not = REQUIRED[rule.name]
    present = owned | set(foreign)
    problems += [f"rule {rule.name} without {m}" for m in sorted(must - present)]
    problems += [f"rule {rule.name} with {m}" for m in sorted(must_not & present)]
    if len(found) == 1 and owned != rule.applied:
        problems.append(f"rule {rule.name} records {sorted(rule.applied)} but applied {sorted(owned)}")
    return problems


def check_access_rules(app: Flask) -> None:
    """Refuse to start if a view has no access rule, or one that disagrees with the wrappers it runs."""
    problems = [f"{endpoint}: {problem}" for endpoint, view in sorted(app.view_functions.items())
                if endpoint not in EXEMPT_ENDPOINTS and not endpoint.startswith(EXEMPT_PREFIXES)
                for problem in view_problems(view)]
    if problems:
        raise AccessRuleError("views whose access rule is missing or disagrees with what runs: "
                              + "; ".join(problems))


__all__ = ["AGENCY_SCOPES", "AccessRuleError", "Rule", "agency", "check_access_rules", "citizen", "public",
           "rule_of", "view_problems"]
