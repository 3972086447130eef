"""``siyu analytics clv``: fit the CLV models from a shell.

Without ``--file`` it fits the brand's own purchases (warehouse), records the fits
and rescores every customer (``customer_value``); with ``--file`` it fits a
CDNOW-format file and stores nothing, so the published CDNOW estimates can be
reproduced: ``siyu analytics clv --file tests/data/CDNOW_sample.txt
--calibration-end 1997-09-30``.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from siyu.analytics.clv.models import ModelName
from siyu.analytics.clv.summary import TimeUnit
from siyu.core import clock
from siyu.core.db import make_engine, make_session_factory, transaction
from siyu.core.errors import SiyuError
from siyu.core.settings import get_settings

app = typer.Typer(help="Analytics: customer lifetime value (CLV).", no_args_is_help=True)


@app.callback()
def main() -> None:
    """Analytics: customer lifetime value (CLV)."""


def _parse_day(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"not a date (YYYY-MM-DD): {value}") from None


def _print(payload: dict[str, Any], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(payload, indent=2, default=str))
        return
    typer.echo(f"model: {payload['model']}  ({payload['customers']} customers)")
    for name, value in payload["params"].items():
        typer.echo(f"  {name:>6} = {value:.4f}")
    typer.echo(f"  log-likelihood = {payload['log_likelihood']:.2f}")
    if payload.get("spend_params"):
        spend = ", ".join(f"{k}={v:.4f}" for k, v in payload["spend_params"].items())
        typer.echo(f"  gamma_gamma: {spend}")
    quality = payload.get("quality") or {}
    if quality:
        typer.echo(
            f"  holdout: actual {quality['total_actual']:.0f}, predicted "
            f"{quality['total_predicted']:.1f} ({quality['total_error_percent']:+.1f}%), "
            f"MAE per customer {quality['mean_absolute_error']:.3f}"
        )
        for bucket in quality["buckets"]:
            typer.echo(
                f"    x={bucket['frequency']:>2}: {bucket['customers']:>6} customers, "
                f"actual {bucket['actual_mean']:.3f}, predicted {bucket['predicted_mean']:.3f}"
            )
    if "customers_scored" in payload:
        typer.echo(f"  scored {payload['customers_scored']} customers")
    typer.echo(f"  seconds: {payload['seconds']}")


def _fit_file(path: Path, model: ModelName, end: date | None, unit: TimeUnit) -> dict[str, Any]:
    from siyu.analytics.clv.service import fit_file

    result = fit_file(path, model=model, calibration_end=end, time_unit=unit)
    return {
        "model": result.fit.model,
        "customers": result.fit.customers,
        "time_unit": unit.value,
        "calibration_end": result.calibration_end.isoformat(),
        "params": result.fit.params,
        "log_likelihood": result.fit.log_likelihood,
        "quality": result.quality,
        "seconds": round(result.fit.seconds, 3),
    }


def _fit_brand(model: ModelName, end: date | None, unit: TimeUnit) -> dict[str, Any]:
    from siyu.analytics.clv.service import fit_and_score
    from siyu.warehouse.engine import Warehouse

    if model is ModelName.GAMMA_GAMMA:
        raise typer.BadParameter(
            "the brand's scores need a count model: use bgnbd or pareto_nbd "
            "(the Gamma-Gamma spend model is fitted with it)"
        )
    settings = get_settings()
    engine = make_engine(settings.database_url)
    now: datetime = clock.now()
    try:
        with transaction(make_session_factory(engine)) as session:
            run = fit_and_score(
                session,
                Warehouse.from_settings(settings),
                model=model.value,
                now=now,
                calibration_end=end,
                time_unit=unit.value,
                actor="cli",
                timezone=settings.timezone,
            )
    finally:
        engine.dispose()
    return {
        "model": run.model.value,
        "customers": run.count_fit.customers,
        "time_unit": unit.value,
        "calibration_end": run.calibration_end.isoformat(),
        "params": run.count_fit.params,
        "log_likelihood": run.count_fit.log_likelihood,
        "spend_params": run.spend_fit.params if run.spend_fit else None,
        "quality": run.quality,
        "customers_scored": run.customers_scored,
        "count_fit_id": run.count_fit_id,
        "spend_fit_id": run.spend_fit_id,
        "distribution": run.distribution,
        "seconds": {name: round(value, 3) for name, value in run.timings.items()},
    }


ModelOption = Annotated[ModelName, typer.Option("--model", help="Model to fit.")]
CalibrationOption = Annotated[
    str | None,
    typer.Option(
        "--calibration-end", help="Last calibration day (YYYY-MM-DD); later days: holdout."
    ),
]
TimeUnitOption = Annotated[TimeUnit, typer.Option("--time-unit", help="week or day.")]
FileOption = Annotated[
    Path | None,
    typer.Option("--file", exists=True, dir_okay=False, help="Fit a CDNOW-format file instead."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@app.command("clv")
def clv_command(
    model: ModelOption = ModelName.BGNBD,
    calibration_end: CalibrationOption = None,
    time_unit: TimeUnitOption = TimeUnit.WEEK,
    file: FileOption = None,
    as_json: JsonOption = False,
) -> None:
    """Fit a CLV model and print its parameters and log-likelihood."""
    end = _parse_day(calibration_end)
    try:
        if file is not None:
            payload = _fit_file(file, model, end, time_unit)
        else:
            payload = _fit_brand(model, end, time_unit)
    except SiyuError as error:
        typer.echo(f"error: {error.code}: {error.message}", err=True)
        raise typer.Exit(code=1) from error
    _print(payload, as_json)
