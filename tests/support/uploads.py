"""The anonymous upload check (POST /api/v1/verify) as the tests call it: one multipart body, one place."""
from __future__ import annotations

import io
from typing import Any


def verify_upload(client: Any, data: bytes, name: str = "f.pdf") -> Any:
    """``data`` sent to the upload verifier as a PDF file part on the test client; the raw response."""
    return client.post("/api/v1/verify", data={"file": (io.BytesIO(data), name, "application/pdf")},
                       content_type="multipart/form-data")
