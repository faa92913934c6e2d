"""horoscope's steps: collection, raw landing, Spark cleaning, fine-tuning, the sampling grid, packaging."""

from steps.horoscope.cleaning import clean_horoscopes, load_clean_corpus
from steps.horoscope.collect import collect_horoscopes
from steps.horoscope.evaluate import evaluate_horoscope_lm
from steps.horoscope.fine_tune import fine_tune_horoscope_lm
from steps.horoscope.grid import evaluate_sampling_grid
from steps.horoscope.landing import land_raw_horoscopes
from steps.horoscope.package import package_horoscope_lm
from steps.horoscope.reference import production_corpus

__all__ = [
    "clean_horoscopes", "collect_horoscopes", "evaluate_horoscope_lm", "evaluate_sampling_grid",
    "fine_tune_horoscope_lm", "land_raw_horoscopes", "load_clean_corpus", "package_horoscope_lm",
    "production_corpus",
]
