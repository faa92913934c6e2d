"""The shared ML core: knows no system. Result types (`types`), data checks with Great Expectations
(`checks`), drift with Evidently (`drift`), the retrain and promotion rules (`policy`), registry
helpers (`registry`), MLflow logging (`tracking`), stored-state lookups (`artifacts`) and write-once
raw landing (`landing`)."""
