"""The citizen document wallet. ``create_app`` (wallet/app.py) builds the Flask application in named steps.

Only the factory is re-exported here: ``flask --app wallet`` and gunicorn's ``wallet:create_app()`` look for it.
"""
from __future__ import annotations

from wallet.app import create_app

__all__ = ["create_app"]
