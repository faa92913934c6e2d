"""chat_forecast: Telegram messages -> hourly activity series -> tomorrow's 24 hourly counts.

The names its pipeline, steps and materializers share (artifacts and the registered model) live
here; the library is in the modules beside this one (the message table and its Telegram sources
are the general `stackpipes.telegram`): the stored `history`, the hourly `series`, the
forecasting `candidates`, the `backtest`, the fitted `model`, its `metrics`, `scoring` of stored
forecasts, the forecast `plot` and the MLflow `pyfunc`.
"""

MODEL_NAME = "chat_forecast"  # the ZenML model (and MLflow registered model)
MODEL_ARTIFACT = "forecast_model"
HOLDOUT_METRIC = "smape_holdout"
HISTORY_ARTIFACT = "chat_history"
FORECAST_ARTIFACT = "chat_forecast_24h"

# Ceilings of what a user can ask for (see stackpipes.platform.bounds).
MAX_LAST_N = 20_000  # messages read per run (the live API pages 100 at a time)
MAX_HORIZON_HOURS = 24 * 7
MAX_FOLDS = 20
MAX_CANDIDATES = 10
