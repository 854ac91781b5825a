"""wallet-verify: check a citizen wallet QR offline (COSE_Sign1 over CWT claims, Token Status Lists).

No Flask, no wallet imports: only cbor2, cryptography, cwt and requests, so a relying party can install it alone.
"""
from wallet_verify.check import Outcome, verify_qr

__all__ = ["Outcome", "verify_qr"]
