"""Web Push for citizens (issue 16): VAPID keys, browsers' subscriptions, and the notifications the workers send.

- ``keys``: the VAPID P-256 key (RFC 8292), from ``VAPID_PRIVATE_KEY_PEM`` or made once under instance/.
- ``endpoints``: which push services a subscription may name (``WEBPUSH_ALLOWED_HOSTS``), checked when a browser
  subscribes and again, with the address resolved and pinned, at every send.
- ``service``: subscribe / unsubscribe (a citizen's browsers, capped), who is told of what.
- ``delivery``: the event listeners and the jobs (``wallet.jobs``) that encrypt (RFC 8291 aes128gcm) and send.
- ``views``: ``GET /api/v1/push/vapid-public-key``, ``POST|DELETE /api/v1/me/push-subscriptions``.
"""
