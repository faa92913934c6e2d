"""The horoscope system: multi-site collection, Spark cleaning, LM fine-tuning and evaluation."""
