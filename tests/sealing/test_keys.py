"""Key custody: PKCS#12 file and PKCS#11 token (SoftHSMv2) behind the same interface."""

from __future__ import annotations

import pytest
from pyhanko.sign.validation.status import SignatureCoverageLevel

from signing.keys import SOFTHSM_LIB, KeyCustody, KeyCustodyError, Pkcs11Custody, Pkcs12Custody
from signing.seal import Sealer
from tests.support.sealing import validate_all
from tests.support.tools import pdfsig_verdicts


def test_pkcs12_custody(seal_custody: Pkcs12Custody, pki):
    assert isinstance(seal_custody, KeyCustody)
    assert seal_custody.signer() is seal_custody.signer()  # parsed once, reused
    assert seal_custody.certificate.subject.native["organizational_unit_name"] == "PLATFORM"


def test_pkcs12_wrong_password(pki):
    with pytest.raises(KeyCustodyError):
        Pkcs12Custody(pki["platform"]["seal_pkcs12"], "wrong password")


def test_pkcs11_sealing_through_softhsm(softhsm_token, timestamper, bb_original, root_cert, seal_text, tmp_path):
    custody = Pkcs11Custody(SOFTHSM_LIB, softhsm_token.label, softhsm_token.pin, softhsm_token.key_label)
    try:
        assert isinstance(custody, KeyCustody)
        assert custody.signer() is custody.signer()
        assert custody.certificate.subject.native["organizational_unit_name"] == "PLATFORM"
        sealer = Sealer(custody, timestamper)
        sealed = sealer.seal(bb_original, seal_text)
        (_, agency), (_, seal) = validate_all(sealed, [root_cert])
        assert agency.intact and agency.trusted
        assert seal.intact and seal.valid and seal.trusted
        assert seal.coverage == SignatureCoverageLevel.ENTIRE_FILE
        assert pdfsig_verdicts(sealed, tmp_path) == ["Signature is Valid."] * 2
    finally:
        custody.close()


def test_pkcs11_wrong_pin(softhsm_token):
    with pytest.raises(KeyCustodyError):
        Pkcs11Custody(SOFTHSM_LIB, softhsm_token.label, "0000", softhsm_token.key_label)
