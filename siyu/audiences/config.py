"""Load and save the audience settings: one validated document in ``audience_config``
(id 1), like the member program's rules (``siyu.members.program``)."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from siyu.audiences.config_schemas import AudienceSettings
from siyu.audiences.errors import AudienceConfigInvalid
from siyu.core import clock
from siyu.core.db import cached_for_transaction, store_cached
from siyu.models.audience import AudienceConfig
from siyu.staff import audit
from siyu.staff.principal import Principal

CONFIG_ID = 1
_CACHE_KEY = "siyu.audiences.config"


def load(session: Session) -> AudienceSettings:
    """The settings in force (defaults when nothing was saved), once per transaction."""

    def read() -> AudienceSettings:
        row = session.get(AudienceConfig, CONFIG_ID)
        if row is None:
            return AudienceSettings()
        return AudienceSettings.model_validate(row.config)

    return cached_for_transaction(session, _CACHE_KEY, read)


def validate(data: dict[str, Any] | AudienceSettings) -> AudienceSettings:
    if isinstance(data, AudienceSettings):
        return data
    try:
        return AudienceSettings.model_validate(data)
    except ValidationError as error:
        raise AudienceConfigInvalid(
            data={
                "errors": [
                    {"loc": [str(part) for part in e["loc"]], "msg": e["msg"]}
                    for e in error.errors()
                ]
            }
        ) from error


def save(
    session: Session, data: dict[str, Any] | AudienceSettings, actor: Principal
) -> AudienceSettings:
    """Validate and store the whole document; audited with before and after.

    New windows or thresholds apply at the next traits computation (the scheduled full
    refresh or ``siyu audiences refresh --full``), not retroactively to history.
    """
    settings = validate(data)
    document = settings.model_dump(mode="json")
    now = clock.now()
    row = session.get(AudienceConfig, CONFIG_ID)
    before = row.config if row is not None else None
    if row is None:
        session.add(
            AudienceConfig(
                id=CONFIG_ID, config=document, updated_at=now, updated_by=actor.username[:64]
            )
        )
    else:
        row.config = document
        row.updated_at = now
        row.updated_by = actor.username[:64]
    session.flush()
    store_cached(session, _CACHE_KEY, settings)
    audit.record(
        session,
        actor,
        "audiences.config.update",
        target_type="audience_config",
        target_id=CONFIG_ID,
        detail={"before": before, "after": document},
    )
    return settings
