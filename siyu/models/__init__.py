"""Every table. Importing this package registers all models on ``Base.metadata``."""

from siyu.models.base import Base
from siyu.models.channel_code import ChannelCode, ChannelCodeKind, ChannelCodeVisit
from siyu.models.customer import (
    ConflictStatus,
    Customer,
    CustomerIdentity,
    CustomerMerge,
    CustomerSession,
    CustomerStaffLink,
    CustomerStatus,
    CustomerTag,
    IdentityConflict,
    IdentityKind,
    Tag,
    TagKind,
)
from siyu.models.job import Job, JobStatus, WorkerLease
from siyu.models.outbox import OutboxEvent, OutboxStatus, ProcessedEvent
from siyu.models.staff import (
    ApiToken,
    AuditLog,
    ConsoleSession,
    LoginThrottle,
    Role,
    Staff,
    StaffRole,
)
from siyu.models.tracking import TrackedEvent

__all__ = [
    "ApiToken",
    "AuditLog",
    "Base",
    "ChannelCode",
    "ChannelCodeKind",
    "ChannelCodeVisit",
    "ConflictStatus",
    "ConsoleSession",
    "Customer",
    "CustomerIdentity",
    "CustomerMerge",
    "CustomerSession",
    "CustomerStaffLink",
    "CustomerStatus",
    "CustomerTag",
    "IdentityConflict",
    "IdentityKind",
    "Tag",
    "TagKind",
    "TrackedEvent",
    "Job",
    "JobStatus",
    "LoginThrottle",
    "OutboxEvent",
    "OutboxStatus",
    "ProcessedEvent",
    "Role",
    "Staff",
    "StaffRole",
    "WorkerLease",
]
