"""A customer added a staff member on WeCom: identify them, link them, attribute the code.

The WeCom callback arrives with the WeChat integration; until then integrations call
``POST /api/v1/channel-codes/wecom-add`` with what the callback carries.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.campaigns.channel_codes import attribution, errors
from siyu.campaigns.channel_codes.schemas import WecomAddIn, WecomAddOut
from siyu.core import clock
from siyu.core.crypto import PiiCipher
from siyu.customers import identify
from siyu.models.customer import IdentityKind
from siyu.models.staff import Staff
from siyu.staff import audit
from siyu.staff.principal import Principal

_NAMESPACE_FIELDS = ("namespace", "app_id", "corp_id", "platform")


def record_add(
    session: Session, cipher: PiiCipher, actor: Principal, body: WecomAddIn
) -> WecomAddOut:
    staff = session.scalar(
        select(Staff).where(Staff.username == body.staff_username.strip().lower())
    )
    if staff is None or not staff.is_active:
        raise errors.UnknownStaff(data={"staff_username": body.staff_username[:64]})
    inputs = [
        identify.IdentityInput(
            kind=IdentityKind.WECOM_EXTERNAL_USERID.value,
            value=body.external_userid,
            namespace=body.corp_id,
        )
    ]
    for item in body.identities:
        extra = item.model_dump()
        namespace = next(
            (extra[name] for name in _NAMESPACE_FIELDS if isinstance(extra.get(name), str)),
            None,
        )
        inputs.append(identify.IdentityInput(kind=item.kind, value=item.value, namespace=namespace))
    resolved = identify.identify(session, cipher, actor, inputs, None, source="wecom_add")
    added = attribution.record_wecom_add(
        session,
        customer_id=resolved.customer_id,
        staff_id=staff.id,
        corp_id=body.corp_id,
        external_userid=body.external_userid,
        state=body.state,
        at=clock.now(),
        is_new_customer=resolved.created,
    )
    audit.record(
        session,
        actor,
        "channel_code.wecom_add",
        target_type="customer",
        target_id=resolved.customer_id,
        detail={
            "staff_id": staff.id,
            "state": body.state,
            "channel_code_id": added.channel_code_id,
        },
    )
    return WecomAddOut(
        customer_id=resolved.customer_id,
        created=resolved.created,
        staff_id=staff.id,
        channel_code_id=added.channel_code_id,
    )
