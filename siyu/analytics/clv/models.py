"""The purchase-count models by name, and what every caller asks of them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from types import ModuleType

from siyu.analytics.clv import bgnbd, pareto_nbd
from siyu.analytics.clv.fitting import FitResult, FloatArray
from siyu.analytics.clv.summary import CustomerSummary


class CountModel(StrEnum):
    BGNBD = "bgnbd"
    PARETO_NBD = "pareto_nbd"


class ModelName(StrEnum):
    """What the command line accepts: a count model, or the spend model alone."""

    BGNBD = "bgnbd"
    PARETO_NBD = "pareto_nbd"
    GAMMA_GAMMA = "gamma_gamma"


@dataclass(frozen=True)
class CountModelFunctions:
    fit: Callable[[CustomerSummary], FitResult]
    probability_alive: Callable[[dict[str, float], CustomerSummary], FloatArray]
    expected_purchases: Callable[[dict[str, float], CustomerSummary, float], FloatArray]


def _functions(module: ModuleType) -> CountModelFunctions:
    return CountModelFunctions(
        fit=module.fit,
        probability_alive=module.probability_alive,
        expected_purchases=module.expected_purchases,
    )


COUNT_MODELS: dict[CountModel, CountModelFunctions] = {
    CountModel.BGNBD: _functions(bgnbd),
    CountModel.PARETO_NBD: _functions(pareto_nbd),
}
