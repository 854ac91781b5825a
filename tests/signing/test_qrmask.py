"""signing.qrmask: qrcode's QR symbol with its mask found faster must be qrcode's symbol, module for module."""
from __future__ import annotations

import random

import pytest
import qrcode
from qrcode import constants, util

from signing import qrmask
from signing.seal import qr_code

ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_#:/.?=&%"
LEVELS = (constants.ERROR_CORRECT_L, constants.ERROR_CORRECT_M, constants.ERROR_CORRECT_Q, constants.ERROR_CORRECT_H)


@pytest.mark.parametrize("seed", range(4))
def test_the_same_symbol_as_qrcode(seed: int) -> None:
    rnd = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    for _ in range(60):
        size = rnd.choice([0, 1, 7, 20, 33, 80, 150, 300, 488, 520, 800, 1200])
        text = "".join(rnd.choice(ALPHABET) for _ in range(size))
        if rnd.random() < 0.2:
            text = "".join(rnd.choice("0123456789") for _ in range(size))  # numeric mode
        level = rnd.choice(LEVELS)
        ours, theirs = qrmask.QRCode(error_correction=level), qrcode.QRCode(error_correction=level)
        ours.add_data(text)
        theirs.add_data(text)
        ours.make()
        theirs.make()
        assert ours.version == theirs.version
        assert ours.get_matrix() == theirs.get_matrix(), (size, level)


def test_every_mask_can_win() -> None:
    """The comparison above is not won by one mask every time: each of the eight is qrcode's best somewhere."""
    rnd = random.Random(7)  # noqa: S311 - reproducible test data, not secrets
    seen = set()
    for _ in range(400):
        qr = qrmask.QRCode(error_correction=constants.ERROR_CORRECT_M)
        qr.add_data("".join(rnd.choice(ALPHABET) for _ in range(rnd.randrange(1, 120))))
        seen.add(qr.best_mask_pattern() if qr.best_fit() else None)
        if len(seen) == 8:
            break
    assert seen == set(range(8))


@pytest.mark.parametrize("n", [21, 25, 45, 85, 177])
def test_the_penalty_is_qrcodes(n: int) -> None:
    rnd = random.Random(n)  # noqa: S311 - reproducible test data, not secrets
    for i in range(120):
        rows = [rnd.getrandbits(n) for _ in range(n)]
        if i % 3 == 1:  # mostly light: long runs, blocks, finder-like patterns
            rows = [r & rnd.getrandbits(n) & rnd.getrandbits(n) for r in rows]
        elif i % 3 == 2:  # mostly dark
            rows = [r | rnd.getrandbits(n) | rnd.getrandbits(n) for r in rows]
        modules = [[bool((r >> c) & 1) for c in range(n)] for r in rows]
        assert qrmask.lost_point(rows, n) == util.lost_point(modules)


def test_the_seals_qr_is_made_with_it() -> None:
    qr = qr_code("https://wallet.example/v/" + "x" * 22 + "#" + "A" * 460)
    assert isinstance(qr, qrmask.QRCode) and qr.version >= 15
