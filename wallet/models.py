"""Every table, imported in dependency order (Alembic and the tests use this module)."""
from wallet.agencies.models import Agency, AgencyCertificate, ApiKey
from wallet.audit import AuditEvent, AuditHead
from wallet.audit_checkpoints import AuditCheckpoint
from wallet.citizens.models import Citizen, CitizenSession, Invite
from wallet.db import Base
from wallet.documents.batch_models import Batch, BatchItem
from wallet.documents.models import Document
from wallet.push.models import PushSubscription
from wallet.shares.models import Share, ShareItem, ShareView
from wallet.webhooks.models import WebhookDelivery, WebhookEndpoint

__all__ = [
           "Agency",
           "AgencyCertificate",
           "ApiKey",
           "AuditCheckpoint",
           "AuditEvent",
           "AuditHead",
           "Base",
           "Batch",
           "BatchItem",
           "Citizen",
           "CitizenSession",
           "Document",
           "Invite",
           "PushSubscription",
           "Share",
           "ShareItem",
           "ShareView",
           "WebhookDelivery",
           "WebhookEndpoint",
]
