"""SealConfig: which custody holds the seal key, checked when built; open_custody opens what it describes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from config.settings import Settings, SettingsError
from signing.keys import SOFTHSM_LIB, KeyCustody, Pkcs11Custody, Pkcs12Custody, open_custody
from signing.sealconfig import Custody, SealConfig, SealConfigError
from wallet.extensions import Runtime

PKCS11 = {"pkcs11_lib": SOFTHSM_LIB, "pkcs11_token": "WalletSeal", "pkcs11_pin": "4321", "pkcs11_key_label": "seal"}


def test_file_custody_is_checked_and_keeps_its_password_out_of_repr() -> None:
    config = SealConfig.file("/keys/seal.p12", "s3cret")
    assert config.custody is Custody.FILE and config.pkcs12 == Path("/keys/seal.p12")
    assert "s3cret" not in repr(config)
    assert SealConfig.file("/keys/seal.p12", None).pkcs12_password is None  # a file without a password
    assert SealConfig("file", pkcs12=Path("/k.p12")).custody is Custody.FILE  # the kind may be given as text


def test_pkcs11_custody_is_checked_and_keeps_its_pin_out_of_repr() -> None:
    config = SealConfig.pkcs11(SOFTHSM_LIB, "WalletSeal", "4321", "seal")
    assert config.custody is Custody.PKCS11 and config.pkcs11_token == "WalletSeal"
    assert "4321" not in repr(config)


def test_from_options_follows_the_settings_rule() -> None:
    assert SealConfig.from_options(pkcs12="/k.p12", pkcs12_password="p").custody is Custody.FILE
    # a PKCS#11 module named: PKCS#11 custody, the (defaulted) file settings unused
    config = SealConfig.from_options(pkcs12="/k.p12", pkcs12_password="p", **PKCS11)
    assert config.custody is Custody.PKCS11 and config.pkcs12 is None and config.pkcs12_password is None


@pytest.mark.parametrize(("options", "field"), [
    ({}, "pkcs12"),
    ({"pkcs12": ""}, "pkcs12"),
    ({**PKCS11, "pkcs11_token": None}, "pkcs11_token"),
    ({**PKCS11, "pkcs11_token": ""}, "pkcs11_token"),
    ({**PKCS11, "pkcs11_pin": None}, "pkcs11_pin"),
    ({**PKCS11, "pkcs11_key_label": None}, "pkcs11_key_label"),
    ({**PKCS11, "pkcs11_token": "T" * 33}, "pkcs11_token"),
    ({**PKCS11, "pkcs11_key_label": "seal\n"}, "pkcs11_key_label"),
    ({**PKCS11, "pkcs11_pin": "43\x0021"}, "pkcs11_pin"),
])
def test_from_options_names_what_is_missing_or_malformed(options: dict[str, Any], field: str) -> None:
    with pytest.raises(SealConfigError) as err:
        SealConfig.from_options(**options)
    assert err.value.field == field
    assert str(err.value).startswith(field + " ")
    assert "4321" not in str(err.value) and "43\x0021" not in str(err.value)  # no PIN in a message


@pytest.mark.parametrize(("build", "field"), [
    (lambda: SealConfig("hsm"), "custody"),  # type: ignore[arg-type]
    (lambda: SealConfig(Custody.FILE, pkcs12=Path("/k.p12"), pkcs11_lib=SOFTHSM_LIB), "pkcs11_lib"),
    (lambda: SealConfig(Custody.PKCS11, pkcs12=Path("/k.p12"), **PKCS11), "pkcs12"),
    (lambda: SealConfig.file("/", "p"), "pkcs12"),
    (lambda: SealConfig.pkcs11(SOFTHSM_LIB, "  ", "4321", "seal"), "pkcs11_token"),
])
def test_construction_refuses_mixed_or_malformed_fields(build: Any, field: str) -> None:
    with pytest.raises(SealConfigError) as err:
        build()
    assert err.value.field == field
    assert isinstance(err.value, ValueError)


def test_open_custody_from_a_file_config(pki: dict[str, Any]) -> None:
    p = pki["platform"]
    custody = open_custody(SealConfig.file(p["seal_pkcs12"], p["seal_pkcs12_password"]))
    assert isinstance(custody, Pkcs12Custody) and isinstance(custody, KeyCustody)
    assert custody.certificate.subject.native["organizational_unit_name"] == "PLATFORM"


def test_open_custody_from_a_pkcs11_config(softhsm_token: Any) -> None:
    config = SealConfig.pkcs11(SOFTHSM_LIB, softhsm_token.label, softhsm_token.pin, softhsm_token.key_label)
    custody = open_custody(config)
    try:
        assert isinstance(custody, Pkcs11Custody)
        assert custody.certificate.subject.native["organizational_unit_name"] == "PLATFORM"
    finally:
        custody.close()


def test_the_app_names_the_missing_setting(settings: Settings) -> None:
    """A PKCS#11 module without a token label used to reach PKCS#11 as "any token"; now it names the setting."""
    rt = Runtime(settings.with_(seal_pkcs11_lib=SOFTHSM_LIB, seal_pkcs11_pin="4321", seal_pkcs11_key_label="seal"))
    with pytest.raises(SettingsError, match="SEAL_PKCS11_TOKEN"):
        rt.sealer  # noqa: B018 - the property builds the sealer


def test_the_app_seals_with_a_pkcs11_token(settings: Settings, softhsm_token: Any) -> None:
    rt = Runtime(settings.with_(seal_pkcs11_lib=SOFTHSM_LIB, seal_pkcs11_token=softhsm_token.label,
                                seal_pkcs11_pin=softhsm_token.pin, seal_pkcs11_key_label=softhsm_token.key_label))
    custody = rt.sealer._custody
    try:
        assert isinstance(custody, Pkcs11Custody)
    finally:
        custody.close()
