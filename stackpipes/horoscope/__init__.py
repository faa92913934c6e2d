"""horoscope: daily scraping of several sites -> raw CSV -> Spark cleaning -> LM fine-tuning -> sampling grid.

The names its pipelines, steps, materializers and command share live here; the library is in the
modules beside this one: the raw `schema`, the `sources` (YAML specs), `parsing` of pages and the
`scrape` loop (fetching through the shared core's), the bundled `sites`, raw and clean `storage` locations, `cleaning`
rules and the `spark_job`, the `prompts`, the sampling `grid`, `generation`, the MLflow `pyfunc`
and the `cli` command.
"""

MODEL_NAME = "horoscope_lm"  # the ZenML model (and MLflow registered model)
MODEL_ARTIFACT = "horoscope_lm"
TRAINED_ARTIFACT = "horoscope_lm_trained"
CORPUS_ARTIFACT = "horoscope_corpus"
MAX_DAYS = 366  # days one run collects or cleans (ceiling of `dates`)
HELDOUT_METRIC = "heldout_loss"  # mean per-token loss on the held-out horoscopes; lower is better
