"""stackpipes command line: register a stack from stacks/NAME.yaml and run a pipeline on it.

    python run.py --stack local --pipeline chat_forecast [--config FILE] [--no-cache] [--schedule CRON]
    python run.py stacks                 # stack files, and which are registered / active
    python run.py stack up NAME          # register stacks/NAME.yaml idempotently
    python run.py dashboard [--stop]     # the local ZenML server and dashboard on 127.0.0.1
    python run.py airflow up|down|status # the project's own Airflow (its own venv, 127.0.0.1)
    python run.py s3 up|down|status      # the project's S3-compatible server (moto, 127.0.0.1)
    python run.py mlflow-ui [--port N]   # the MLflow UI over the active stack's tracking store
    python run.py generate --sign aries [--date D] [--n N] [--stack local]
                                         # horoscopes from the production horoscope model
    python run.py render --stack kubernetes --pipeline chat_forecast --image IMG [--out DIR] [--schedule CRON]
                                         # the Kubernetes manifests ZenML would submit (no cluster)

Heavy libraries (ZenML, MLflow, pandas) are imported only inside the command that needs them, so
`--help` and argument errors answer at once.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from pipelines import PIPELINES
from stackpipes.env import PROJECT_ROOT, boot_zenml


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="run.py",
        description="Run stackpipes pipelines on a stack chosen by configuration (stacks/*.yaml).",
    )
    parser.add_argument("--stack", help="stack file name under stacks/ (e.g. local)")
    parser.add_argument("--pipeline", choices=sorted(PIPELINES), help="pipeline to run")
    parser.add_argument("--config", help="ZenML run configuration YAML (default: configs/PIPELINE.yaml)")
    parser.add_argument("--no-cache", action="store_true", help="run every step, ignoring the cache")
    parser.add_argument("--schedule", metavar="CRON", help="deploy on a schedule instead of running once")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser("stacks", help="list stack files and which are registered / active")
    stack = commands.add_parser("stack", help="manage one stack")
    stack_commands = stack.add_subparsers(dest="stack_command", required=True, metavar="ACTION")
    up = stack_commands.add_parser("up", help="register stacks/NAME.yaml (idempotent) and activate it")
    up.add_argument("name")
    up.add_argument("--no-activate", action="store_true")
    dashboard = commands.add_parser("dashboard", help="start the local ZenML server and dashboard")
    dashboard.add_argument("--stop", action="store_true", help="stop it instead")
    dashboard.add_argument("--port", type=int, help="port (default $STACKPIPES_ZENML_PORT or 8237)")
    airflow = commands.add_parser("airflow", help="install, start, stop or inspect the project's Airflow")
    airflow.add_argument("action", choices=["install", "up", "down", "status"])
    s3 = commands.add_parser("s3", help="start, stop or inspect the project's S3-compatible server (moto)")
    s3.add_argument("action", choices=["up", "down", "status"])
    mlflow_server = commands.add_parser("mlflow-server", help="start, stop or inspect the project's MLflow server")
    mlflow_server.add_argument("action", choices=["up", "down", "status"])
    mlflow_ui = commands.add_parser("mlflow-ui", help="serve the MLflow UI for the active stack's tracker")
    mlflow_ui.add_argument("--port", type=int, default=5000)
    generate = commands.add_parser("generate", help="generate horoscopes with the production horoscope model")
    generate.add_argument("--sign", required=True, type=str.lower, help="zodiac sign, e.g. aries")
    generate.add_argument("--date", help="day of the horoscope, YYYY-MM-DD (default: today, UTC)")
    generate.add_argument("--n", type=int, default=1, help="how many horoscopes (default 1)")
    generate.add_argument("--seed", type=int, default=0, help="sampling seed (same seed, same text)")
    generate.add_argument("--stack", default=argparse.SUPPRESS, help="stack whose ZenML store holds the model")
    render = commands.add_parser(
        "render", help="write the Kubernetes manifests ZenML would submit for --pipeline on --stack"
    )
    # Also accepted after `render` (SUPPRESS keeps values given before it).
    render.add_argument("--stack", default=argparse.SUPPRESS)
    render.add_argument("--pipeline", choices=sorted(PIPELINES), default=argparse.SUPPRESS)
    render.add_argument("--config", default=argparse.SUPPRESS)
    render.add_argument("--schedule", metavar="CRON", default=argparse.SUPPRESS)
    render.add_argument("--image", required=True, help="the project image the manifests run")
    render.add_argument("--out", default="outputs/k8s", help="folder for the manifests (default outputs/k8s)")
    render.add_argument("--k8s-version", default="1.30.0", help="Kubernetes version to validate against")
    return parser


def _start_services(spec) -> None:
    """Start the servers a stack lists (before ZenML is imported: the client reads its store then)."""
    if spec.services:
        from stackpipes.services import ensure

        for line in ensure(spec.services):
            print(f"  {line}")


def _stack_ready(spec, activate: bool = True):
    """Start the stack's services, then register (idempotently) and activate it."""
    _start_services(spec)
    boot_zenml()
    from stackpipes.stacks import stack_up

    return stack_up(spec, activate=activate)


def cmd_stack_up(name: str, activate: bool = True) -> int:
    from stackpipes.stackfile import load_stack_file, stack_path

    spec = load_stack_file(stack_path(name))
    result = _stack_ready(spec, activate=activate)
    for action in result.actions:
        print(f"  {action}")
    print(f"stack '{spec.name}' is {'up to date' if not result.changed else 'registered'}")
    return 0


def cmd_stacks() -> int:
    from stackpipes.stackfile import StackFileError, load_stack_file, stacks_dir

    boot_zenml()
    from stackpipes.stacks import registered_stacks

    registered, active = registered_stacks()
    for path in sorted(stacks_dir().glob("*.yaml")):
        try:
            spec = load_stack_file(path)
            state = "active" if spec.name == active else "registered" if spec.name in registered else "not registered"
            print(f"{spec.name:<14} {state:<15} {spec.description}")
        except StackFileError as exc:
            print(f"{path.stem:<14} {'INVALID':<15} {exc}")
    return 0


def cmd_dashboard(stop: bool, port: int | None) -> int:
    from stackpipes import services

    if port is not None:
        os.environ["STACKPIPES_ZENML_PORT"] = str(port)
    if stop:
        return services.zenml_server_down()
    url = services.zenml_server_up()
    print(f"ZenML dashboard: {url}  (stop with: python run.py dashboard --stop)")
    return 0


def cmd_airflow(action: str) -> int:
    from stackpipes.orchestration import airflow_service

    if action == "install":
        airflow_service.install()
    elif action == "up":
        print(f"Airflow UI and API: {airflow_service.up()}  (stop with: python run.py airflow down)")
    elif action == "down":
        print(f"Airflow stopped ({airflow_service.down()} processes signalled)")
    else:
        for key, value in airflow_service.status().items():
            print(f"{key:<10} {value}")
    return 0


def cmd_service(module_name: str, label: str, command: str, action: str) -> int:
    """up / down / status of one of the project's servers (stackpipes.<module_name>)."""
    import importlib

    service = importlib.import_module(f"stackpipes.{module_name}")
    if action == "up":
        print(f"{label}: {service.up()}  (stop with: python run.py {command} down)")
    elif action == "down":
        print(f"{label} stopped" if service.down() else f"no {label} of this project was running")
    else:
        for key, value in service.status().items():
            print(f"{key:<13} {value}")
    return 0


def tracking_uri() -> str | None:
    """The MLflow tracking URI of the active stack's experiment tracker, if it has one."""
    boot_zenml()
    from zenml.client import Client

    tracker = Client().active_stack.experiment_tracker
    return tracker.get_tracking_uri() if tracker is not None and hasattr(tracker, "get_tracking_uri") else None


def cmd_mlflow_ui(port: int) -> int:
    import subprocess

    uri = tracking_uri()
    if uri is None:
        print("error: the active stack has no MLflow experiment tracker", file=sys.stderr)
        return 1
    if uri.startswith(("http://", "https://")):
        print(f"the active stack's MLflow tracking server serves its own UI: {uri}")
        return 0
    print(f"MLflow UI for {uri}: http://127.0.0.1:{port}")
    mlflow = str(Path(sys.executable).parent / "mlflow")
    return subprocess.call([mlflow, "ui", "--backend-store-uri", uri, "--host", "127.0.0.1", "--port", str(port)])


def _stack_pipeline_config(args: argparse.Namespace):
    """The stack file, pipeline entry and run config that --stack/--pipeline/--config name."""
    from stackpipes.stackfile import load_stack_file, stack_path

    spec = load_stack_file(stack_path(args.stack))
    entry = PIPELINES[args.pipeline]
    config = Path(args.config) if args.config else PROJECT_ROOT / entry.default_config
    if not config.is_file():
        raise FileNotFoundError(f"config file not found: {config}")
    # Activate only the ZenML integrations this stack's flavors belong to (each costs imports).
    os.environ.setdefault("STACKPIPES_INTEGRATIONS", ",".join(sorted({c.flavor for c in spec.components.values()})))
    return spec, entry, config


def cmd_run(args: argparse.Namespace) -> int:
    import importlib

    spec, entry, config = _stack_pipeline_config(args)
    for action in _stack_ready(spec).actions:
        if not action.endswith(": unchanged"):
            print(f"  {action}")
    from zenml.client import Client

    options: dict = {"config_path": str(config)}
    if spec.settings:
        options["settings"] = spec.settings
    if args.no_cache:
        options["enable_cache"] = False
    if args.schedule:
        orchestrator = Client().active_stack.orchestrator
        if not orchestrator.config.is_schedulable:
            print(
                f"error: stack '{spec.name}' cannot schedule: its orchestrator "
                f"'{orchestrator.flavor}' does not support schedules. "
                "Use a stack whose orchestrator does (e.g. --stack airflow).",
                file=sys.stderr,
            )
            return 2
        from zenml.config.schedule import Schedule

        options["schedule"] = Schedule(cron_expression=args.schedule)
    module = importlib.import_module(entry.module)
    pipeline = getattr(module, entry.attribute).with_options(**options)
    run = pipeline()
    if args.schedule:
        print(f"scheduled '{args.pipeline}' on stack '{spec.name}' with cron '{args.schedule}'")
        return 0
    report = getattr(module, "report", None)
    if run is not None and report is not None:
        print(report(Client().get_pipeline_run(run.id)))
    return 0


def cmd_render(args: argparse.Namespace) -> int:
    import importlib

    import yaml

    spec, entry, config = _stack_pipeline_config(args)
    boot_zenml()
    from stackpipes.orchestration.k8s_render import render, validate_manifests
    from stackpipes.stacks import stack_up

    stack_up(spec)
    pipeline = getattr(importlib.import_module(entry.module), entry.attribute)
    rendered = render(pipeline, image=args.image, config_path=str(config), schedule=args.schedule,
                      settings=spec.settings)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for index, manifest in enumerate(rendered.manifests):
        kind = str(manifest.get("kind", "object")).lower()
        name = f"{index:02d}-{kind}-{manifest.get('metadata', {}).get('name', 'unnamed')}.yaml"
        (out / name).write_text(yaml.safe_dump(manifest, sort_keys=False))
    problems = validate_manifests(rendered.manifests, args.k8s_version)
    print(f"{len(rendered.manifests)} manifests for '{args.pipeline}' on stack '{spec.name}' in {out}")
    for problem in problems:
        print(f"error: invalid manifest: {problem}", file=sys.stderr)
    return 1 if problems else 0


def cmd_generate(args: argparse.Namespace) -> int:
    from datetime import datetime, timezone

    from stackpipes.horoscope.schema import SIGNS
    from stackpipes.stackfile import load_stack_file, stack_path

    if args.sign not in SIGNS:
        raise ValueError(f"--sign {args.sign!r}: expected one of {', '.join(SIGNS)}")
    if args.n < 1:
        raise ValueError(f"--n {args.n}: expected at least 1")
    spec = load_stack_file(stack_path(args.stack or "local"))
    _stack_ready(spec)
    from pipelines.horoscope_train import MODEL_NAME
    from stackpipes.horoscope.modeling import HELDOUT_METRIC, generate_horoscopes
    from steps.horoscope.train import MODEL_ARTIFACT
    from steps.registry.production import load_production_model, production_info

    production = production_info(MODEL_NAME, MODEL_ARTIFACT, HELDOUT_METRIC)
    if not production.exists:
        print(f"error: there is no production '{MODEL_NAME}' model yet: run "
              f"python run.py --stack {spec.name} --pipeline horoscope_train", file=sys.stderr)
        return 1
    lm = load_production_model(production)
    day = args.date or datetime.now(timezone.utc).date().isoformat()
    texts = generate_horoscopes(lm, args.sign, day, n=args.n, seed=args.seed)
    sampling = lm.metadata.get("generation", {})
    print(f"# {args.sign}, {day} ({MODEL_NAME} version {production.version}; "
          f"top_p={sampling.get('top_p')}, temperature={sampling.get('temperature')})")
    for text in texts:
        print(text if text else "(the model generated no text)")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "stacks":
            return cmd_stacks()
        if args.command == "stack":
            return cmd_stack_up(args.name, activate=not args.no_activate)
        if args.command == "dashboard":
            return cmd_dashboard(args.stop, args.port)
        if args.command == "airflow":
            return cmd_airflow(args.action)
        if args.command == "s3":
            return cmd_service("s3_service", "S3-compatible server", "s3", args.action)
        if args.command == "mlflow-server":
            return cmd_service("mlflow_service", "MLflow tracking server", "mlflow-server", args.action)
        if args.command == "mlflow-ui":
            return cmd_mlflow_ui(args.port)
        if args.command == "generate":
            return cmd_generate(args)
        if args.command == "render":
            if not (args.stack and args.pipeline):
                parser.error("render needs --stack and --pipeline")
            return cmd_render(args)
        if not (args.stack and args.pipeline):
            parser.error("give --stack and --pipeline, or a COMMAND")
        return cmd_run(args)
    except (ValueError, FileNotFoundError, KeyError, RuntimeError) as exc:
        # Expected failures (bad stack file, bad input data, failed data checks) end with a
        # readable message; ZenML has already logged the failing step's traceback.
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
