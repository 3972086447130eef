"""The database engine's group commit (``siyu.core.group_commit``): every
reservation of a batch runs inside its own SAVEPOINT, so a refusal (sold out, over
the limit) rolls back only that request, and the batch commits once."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from siyu.campaigns.flash_sale import driver_sql
from siyu.campaigns.flash_sale.engines import ReserveRequest, reserve_on_cursor
from siyu.campaigns.flash_sale.errors import EngineUnavailable
from siyu.core.errors import SiyuError
from siyu.core.group_commit import GroupCommitQueue

logger = logging.getLogger(__name__)


class GroupCommitWriter(GroupCommitQueue[ReserveRequest, None]):
    def __init__(self, factory: sessionmaker[Session], *, max_batch: int = 256) -> None:
        super().__init__(self._write_reservations, name="flash-sale-writer", max_batch=max_batch)
        self._engine = factory.kw["bind"]

    async def reserve(self, request: ReserveRequest) -> None:
        await self.run(request)

    @staticmethod
    def _one(
        cursor: Any, sql: driver_sql.Statements, request: ReserveRequest
    ) -> BaseException | None:
        """One request inside its own savepoint: a refusal undoes only its own steps."""
        cursor.execute("SAVEPOINT flash_sale_request")
        try:
            reserve_on_cursor(cursor, sql, request)
        except Exception as error:
            cursor.execute("ROLLBACK TO SAVEPOINT flash_sale_request")
            cursor.execute("RELEASE SAVEPOINT flash_sale_request")
            if isinstance(error, SiyuError):
                return error
            logger.exception("flash sale: reservation %s failed", request.public_id)
            return EngineUnavailable(data={"reason": type(error).__name__})
        cursor.execute("RELEASE SAVEPOINT flash_sale_request")
        return None

    def _write_reservations(self, batch: list[ReserveRequest]) -> list[BaseException | None]:
        outcomes: list[BaseException | None] = []
        try:
            with self._engine.begin() as connection:
                sql = driver_sql.statements_for(connection.dialect)
                cursor = connection.connection.cursor()
                for request in batch:
                    outcomes.append(self._one(cursor, sql, request))
                cursor.close()
        except Exception as error:
            logger.exception("flash sale: a reservation batch failed to commit")
            raise EngineUnavailable(data={"reason": type(error).__name__}) from error
        return outcomes
