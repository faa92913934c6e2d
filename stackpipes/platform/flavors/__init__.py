"""Our ZenML flavors and what runs a step out of process: the Airflow orchestrator (`airflow`), the
`stackpipes_local` step operator, the step entrypoint and task command, the warm step worker
(`step_worker`) and lazy MLflow components for out-of-process steps."""
