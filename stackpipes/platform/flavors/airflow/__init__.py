"""Airflow without Docker: our orchestrator flavor, its DAG generator and Airflow's REST API client."""
