"""Forecast of the next hours with the production model: CSV + PNG artifact and copies in reports/."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Optional

import pandas as pd
from zenml import log_metadata, step

import materializers.chat_forecast  # noqa: F401  (registers its materializers)
from stackpipes.chat_forecast import FORECAST_ARTIFACT
from stackpipes.chat_forecast.model import ForecastModel
from stackpipes.chat_forecast.series import HorizonHours
from stackpipes.chat_forecast.types import Forecast
from stackpipes.core.registry import load_production_model
from stackpipes.core.types import ProductionInfo, PromotionResult
from stackpipes.platform.env import reports_dir


@step
def forecast_next(
    model: Optional[ForecastModel],
    promotion: PromotionResult,
    production: ProductionInfo,
    hourly_counts: pd.DataFrame,
    horizon: HorizonHours = 24,
) -> Annotated[Optional[Forecast], FORECAST_ARTIFACT]:
    """Forecast with this run's model if it is production now, else with the production model.
    No model yet (the history is still being collected): no forecast, and the run says so."""
    from stackpipes.chat_forecast.model import forecast_frame
    from stackpipes.chat_forecast.plot import plot_forecast

    if model is None:
        log_metadata({"status": "collecting", "hours": len(hourly_counts)})
        return None
    serving = model
    if not promotion.promoted and production.exists and promotion.challenger is not None:
        serving = load_production_model(production)  # a retrained model that lost stays out
    serving = serving.update(hourly_counts, horizon)  # forecast from the newest hour, not the training end
    frame = forecast_frame(serving, horizon)
    png = plot_forecast(hourly_counts, frame, title=f"Next {horizon} h ({serving.candidate})")
    forecast = Forecast(frame=frame, png=png, model=serving.candidate, generated_at=datetime.now(timezone.utc))
    folder = reports_dir() / "chat_forecast"
    folder.mkdir(parents=True, exist_ok=True)
    stamp = f"{forecast.start:%Y%m%dT%H}"
    for name in (f"forecast_{stamp}", "forecast_latest"):
        frame.to_csv(folder / f"{name}.csv", index=False)
        (folder / f"{name}.png").write_bytes(png)
    log_metadata({"start": str(forecast.start), "end": str(forecast.end), "model": serving.candidate,
                  "csv": str(folder / f"forecast_{stamp}.csv")})
    return forecast
