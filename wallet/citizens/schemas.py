"""Schemas of the citizen API: they validate requests and generate the OpenAPI document."""
from __future__ import annotations

from apiflask import Schema, fields, validators

from wallet.documents.schemas import PRINTABLE, DocumentOut


class LoginIn(Schema):
    national_id = fields.String(required=True, validate=[validators.Length(min=1, max=64), PRINTABLE],
                                metadata={"example": "AB123456"})
    password = fields.String(required=True, validate=validators.Length(min=1, max=1024))
    otp = fields.String(required=True, validate=[validators.Length(min=1, max=16), PRINTABLE],
                        metadata={"description": "The current 6-digit code of the authenticator app (each once)"})


class CitizenOut(Schema):
    id = fields.String()
    national_id = fields.String()
    name = fields.String()
    enrolled_at = fields.DateTime(allow_none=True)


class SessionInfo(Schema):
    created_at = fields.DateTime()
    expires_at = fields.DateTime(metadata={"description": "When it ends if unused (idle or absolute limit)"})


class AuthOut(Schema):
    csrf_token = fields.String(metadata={"description": "Send as X-CSRF-Token on every state-changing call"})
    citizen = fields.Nested(CitizenOut)
    session = fields.Nested(SessionInfo)


class LogoutIn(Schema):
    everywhere = fields.Boolean(load_default=False, metadata={"description": "End every session of this citizen"})


class SessionOut(Schema):
    created_at = fields.DateTime()
    last_seen_at = fields.DateTime()
    user_agent = fields.String(allow_none=True)
    current = fields.Boolean()


class SessionsOut(Schema):
    sessions = fields.List(fields.Nested(SessionOut))


class HolderOut(Schema):
    national_id = fields.String()
    name = fields.String()


class CitizenDocumentOut(DocumentOut):
    type_name = fields.String(metadata={"description": "Localised name of the document type"})
    issuer = fields.String(metadata={"description": "Localised name of the issuing agency"})
    pages = fields.Integer(allow_none=True)
    file_url = fields.String()
    holder = fields.Nested(HolderOut, metadata={"description": "Whose document it is"})
    access = fields.String(metadata={"description": "own | guardian | proxy: how the signed-in citizen holds it"})


class DocumentsOut(Schema):
    documents = fields.List(fields.Nested(CitizenDocumentOut))


class CitizenDocumentDetailOut(CitizenDocumentOut):
    """One document (a distinct class: apispec refuses a schema registered both nested and top-level)."""


class EnrolStartIn(Schema):
    national_id = fields.String(required=True, validate=[validators.Length(min=1, max=64), PRINTABLE])
    code = fields.String(required=True, validate=[validators.Length(min=1, max=64), PRINTABLE],
                         metadata={"description": "One-time enrolment code from `flask citizen invite`"})


class TicketOut(Schema):
    ticket = fields.String(metadata={"description": "Opaque, signed; pass it to the next enrolment step"})


class EnrolPasswordIn(Schema):
    ticket = fields.String(required=True, validate=validators.Length(max=4096))
    password = fields.String(required=True, validate=validators.Length(min=1, max=1024))


class EnrolPasswordOut(Schema):
    ticket = fields.String()
    totp_secret = fields.String(metadata={"description": "Base32 secret to type into an authenticator app"})
    otpauth_uri = fields.String()
    qr_svg = fields.String(metadata={"description": "The otpauth URI as an SVG QR code"})


class EnrolConfirmIn(Schema):
    ticket = fields.String(required=True, validate=validators.Length(max=4096))
    otp = fields.String(required=True, validate=validators.Length(min=1, max=16))


# ------------------------------------------------------------------------------------------- passkeys, step-up

CREDENTIAL = {"description": "The browser's PublicKeyCredential as JSON (PublicKeyCredential.toJSON(): id, rawId, "
                             "type, response with base64url clientDataJSON, attestationObject or "
                             "authenticatorData + signature + userHandle)"}
OPTIONS = {"description": "WebAuthn options, JSON with base64url binary members (for "
                          "PublicKeyCredential.parseCreationOptionsFromJSON / parseRequestOptionsFromJSON)"}


class PasskeyRegisterIn(Schema):
    credential = fields.Dict(required=True, metadata=CREDENTIAL)
    name = fields.String(required=True, validate=[validators.Length(min=1, max=60), PRINTABLE],
                         metadata={"example": "My phone"})


class PasskeyAssertionIn(Schema):
    credential = fields.Dict(required=True, metadata=CREDENTIAL)


class StepUpIn(Schema):
    otp = fields.String(validate=[validators.Length(min=1, max=16), PRINTABLE],
                        metadata={"description": "A fresh code of the authenticator app (not the one used to sign in)"})
    credential = fields.Dict(metadata=CREDENTIAL)


class WebAuthnOptionsOut(Schema):
    class Meta:
        unknown = "include"

    challenge = fields.String(metadata=OPTIONS)


class PasskeyOut(Schema):
    id = fields.String()
    name = fields.String()
    created_at = fields.DateTime()
    last_used_at = fields.DateTime(allow_none=True)
    backed_up = fields.Boolean(metadata={"description": "Synced to the person's account (a backup flag)"})
    disabled_at = fields.DateTime(allow_none=True, metadata={
        "description": "Set when an answer's sign count went backwards (possibly a copied authenticator): the "
                       "passkey is refused from then on (401 passkey_disabled); remove it"})


class PasskeysOut(Schema):
    passkeys = fields.List(fields.Nested(PasskeyOut))


class StepUpOut(Schema):
    stepped_up_at = fields.DateTime()
