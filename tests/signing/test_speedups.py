"""The fast hex-string reader gives exactly pyHanko's results and errors, and leaves the stream where
pyHanko's reader would."""
from __future__ import annotations

from io import BytesIO

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyhanko.pdf_utils.misc import PdfStreamError

from signing import speedups


def both(data: bytes) -> tuple[object, object]:
    def run(reader: object) -> object:
        stream = BytesIO(data)
        try:
            value = reader(stream)  # type: ignore[operator]
            return ("ok", bytes(value.original_bytes) if hasattr(value, "original_bytes") else value,
                    type(value).__name__, stream.tell())
        except PdfStreamError as exc:
            return ("error", str(exc))

    return run(speedups._original), run(speedups.read_hex_string_from_stream)


@pytest.mark.parametrize("data", [
    b"<>", b"<00>", b"<0A1b2C>rest", b"<0 a\n1\tB\r2\x0cC\x00>", b"<abc>", b"<  f  >",
    b"<" + b"ab" * 40000 + b">tail",  # longer than one chunk
    b"<ab%comment\ncd>", b"<zz>", b"<ab", b"<", b"<ab>>", b"<a b c d e f 0 1 2 3>",
])
def test_same_as_pyhanko(data: bytes) -> None:
    original, fast = both(data)
    assert fast == original


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200).map(lambda b: b"<" + b))
def test_same_as_pyhanko_on_random_input(data: bytes) -> None:
    original, fast = both(data)
    assert fast == original


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="0123456789abcdefABCDEF \n\r\t%>xyz", max_size=300).map(lambda s: b"<" + s.encode()))
def test_same_as_pyhanko_on_hexish_input(data: bytes) -> None:
    original, fast = both(data)
    assert fast == original


def test_installed_by_the_signing_package() -> None:
    """Installed by the explicit start-up call (create_app, the validator processes, the bench), not by import."""
    from pyhanko.pdf_utils import generic

    import signing

    signing.install_pyhanko_patches()
    signing.install_pyhanko_patches()  # idempotent

    assert generic.read_hex_string_from_stream is speedups.read_hex_string_from_stream
    assert signing.pyhanko_patched()
