"""Every table, imported in dependency order (Alembic and the tests use this module)."""
from wallet.db import Base
from wallet.agencies.models import Agency, AgencyCertificate, ApiKey
from wallet.documents.models import Document
from wallet.citizens.models import Citizen, CitizenSession, Invite
from wallet.shares.models import Share, ShareItem, ShareView
from wallet.audit import AuditEvent, AuditHead

__all__ = ["Base", "Agency", "AgencyCertificate", "ApiKey", "Document", "Citizen", "CitizenSession", "Invite",
           "Share", "ShareItem", "ShareView", "AuditEvent", "AuditHead"]
