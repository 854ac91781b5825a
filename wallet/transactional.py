"""The application class: the request's unit of work ends in ``dispatch_request``, in one place.

warehouse runs every request inside pyramid_tm's transaction; this is the Flask equivalent. Views, auth
helpers and services never commit: they ``flush()``. When the view returns, ``WalletFlask.dispatch_request``
turns its value into the response and ends the unit of work (``wallet.db.finish``): commit below 400, roll
back for an error answer. The commit happens before Flask finalises the response, so a failed commit is an
exception of the view like any other: the error handlers roll back (blob compensations run) and answer 503 +
Retry-After when the database is briefly away, 500 otherwise. The client never gets a success for
something that was not committed. A view that raises never reaches the commit: its error handler rolls back.
"""
from __future__ import annotations

from apiflask import APIFlask
from flask import Response

from wallet import db


class WalletFlask(APIFlask):
    """APIFlask whose requests commit once, after the view returned (see the module docstring)."""

    def dispatch_request(self) -> Response:
        response = self.make_response(super().dispatch_request())
        db.finish(response.status_code)
        return response
