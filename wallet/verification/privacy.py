"""Holder privacy: what the holder is told about a verifier (an address prefix, a browser family), and which
fetchers only draw a link's preview (they must not use up a view). Pure functions, cached: verifiers repeat."""
from __future__ import annotations

import ipaddress
import re
from functools import lru_cache

from wallet.network import truncate_ip as truncate_ip  # looks.py takes it from here with browser_family

# -- what the holder sees of a verifier ---------------------------------------------------


_BROWSERS = (
    ("Samsung Internet", re.compile(r"SamsungBrowser/")),
    ("Edge", re.compile(r"Edg(e|A|iOS)?/")),
    ("Opera", re.compile(r"(OPR|Opera)/")),
    ("Firefox", re.compile(r"(Firefox|FxiOS)/")),
    ("Chrome", re.compile(r"(Chrome|CriOS|Chromium)/")),
    ("Safari", re.compile(r"Version/[\d.]+.*Safari/")),
    ("curl", re.compile(r"^curl/")),
    ("python-requests", re.compile(r"^python-requests/")),
    ("Python", re.compile(r"^Python|python-httpx|aiohttp", re.IGNORECASE)),
    ("Werkzeug", re.compile(r"^Werkzeug/")),
)


# the operating system, most specific first (an Android phone's agent also says "Linux", an iPad's "Mac OS X")
_SYSTEMS = (
    ("Android", re.compile(r"Android")),
    ("iOS", re.compile(r"iPhone|iPad|iPod")),
    ("ChromeOS", re.compile(r"CrOS")),
    ("Windows", re.compile(r"Windows")),
    ("macOS", re.compile(r"Mac OS X|Macintosh")),
    ("Linux", re.compile(r"Linux|X11")),
)
ON = " on "  # "Chrome on Android": browser_family's separator (the pages split on it and translate it)


def browser_family(user_agent: str | None) -> str | None:
    """The browser's family and, when the agent names it, its system: "Chrome on Android", "Safari on iOS",
    "curl". Never a version or a device model: what a person recognises, not what identifies one."""
    if not user_agent:
        return None
    return _browser_family(user_agent[:512])


@lru_cache(maxsize=1024)
def _browser_family(ua: str) -> str:
    browser = next((name for name, pattern in _BROWSERS if pattern.search(ua)), "Other")
    system = next((name for name, pattern in _SYSTEMS if pattern.search(ua)), None)
    return f"{browser}{ON}{system}" if system and ua.startswith("Mozilla/") else browser


def split_family(family: str | None) -> tuple[str | None, str | None]:
    """``browser_family``'s text back into (browser, system)."""
    if not family:
        return None, None
    browser, _, system = family.partition(ON)
    return browser, system or None


# a home or office network (RFC 1918, unique local IPv6): the look came from inside a local network
_LOCAL: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = tuple(
    ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"))


def network_of(prefix: str | None) -> tuple[str, str] | None:
    """What the holder can be told about where a look came from, honestly: there is no location database, so
    ("local", "") for a loopback or private address, else ("network", "203.0.113.x") from the /24 (or /48)."""
    if not prefix:
        return None
    try:
        net = ipaddress.ip_network(prefix, strict=False)
    except ValueError:
        return None
    if net.is_loopback or net.is_link_local or any(net.network_address in local for local in _LOCAL):
        return "local", ""
    if net.version == 4:
        return "network", ".".join(str(net.network_address).split(".")[:3]) + ".x"
    return "network", str(net.network_address).rstrip(":") + ":…"


# Fetchers that draw a link's preview in a chat or feed: they show the page's title to the recipient and must
# not use up a view. Named ones, then any "...bot/", "...crawler/" or "...spider/" product token (with the
# slash: an Android phone model such as "CUBOT X30" is not a bot).
_LINK_PREVIEW = re.compile(
    r"facebookexternalhit|Facebot|WhatsApp/|TelegramBot|Twitterbot|Slackbot|Slack-ImgProxy|Discordbot|LinkedInBot"
    r"|SkypeUriPreview|Viber/|vkShare|redditbot|Pinterest|Snap URL Preview|Iframely|Embedly|Mastodon/"
    r"|Google-PageRenderer|Microsoft Preview|(?:bot|crawler|spider)/", re.IGNORECASE)


def is_link_preview(user_agent: str | None) -> bool:
    return user_agent is not None and _is_link_preview(user_agent[:512])


@lru_cache(maxsize=1024)
def _is_link_preview(ua: str) -> bool:
    return _LINK_PREVIEW.search(ua) is not None
