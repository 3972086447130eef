"""Every table. Importing this package registers all models on ``Base.metadata``."""

from siyu.models.base import Base
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

__all__ = [
    "ApiToken",
    "AuditLog",
    "Base",
    "ConsoleSession",
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
