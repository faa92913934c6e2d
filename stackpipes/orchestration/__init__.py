"""Orchestration that ZenML does not ship: Airflow without Docker, and a local GPU step operator."""
