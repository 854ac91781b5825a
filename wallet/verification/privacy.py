"""Holder privacy: what the holder is told about a verifier (an address prefix, a browser family), and which
fetchers only draw a link's preview (they must not use up a view). Pure functions, cached: verifiers repeat."""
from __future__ import annotations

import ipaddress
import re
from functools import lru_cache

# -- what the holder sees of a verifier ---------------------------------------------------


def truncate_ip(ip: str | None) -> str | None:
    if not ip:
        return None
    return _truncate_ip(ip)


@lru_cache(maxsize=4096)  # verifiers repeat (a bank's counter scans all day from one address)
def _truncate_ip(ip: str) -> str | None:
    try:
        addr = ipaddress.ip_address(ip.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    prefix = 24 if addr.version == 4 else 48
    return str(ipaddress.ip_network(f"{addr}/{prefix}", strict=False))


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


def browser_family(user_agent: str | None) -> str | None:
    if not user_agent:
        return None
    return _browser_family(user_agent[:512])


@lru_cache(maxsize=1024)
def _browser_family(ua: str) -> str:
    for name, pattern in _BROWSERS:
        if pattern.search(ua):
            return name
    return "Other"


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
