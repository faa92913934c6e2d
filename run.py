"""stackpipes command line: register a stack from stacks/NAME.yaml and run a pipeline on it.

    python run.py --stack local --pipeline chat_forecast [--config FILE] [--no-cache] [--schedule CRON]
    python run.py stacks                 # stack files, and which are registered / active
    python run.py stack up NAME          # register stacks/NAME.yaml idempotently
    python run.py dashboard [--stop]     # the local ZenML server and dashboard on 127.0.0.1
    python run.py airflow up|down|status # the project's own Airflow (its own venv, 127.0.0.1)
    python run.py s3 up|down|status      # the project's S3-compatible server (moto, 127.0.0.1)
    python run.py mlflow-ui [--port N]   # the MLflow UI over the active stack's tracking store
    python run.py render --stack kubernetes --pipeline chat_forecast --image IMG [--out DIR] [--schedule CRON]
                                         # the Kubernetes manifests ZenML would submit (no cluster)
    python run.py render --stack kubernetes --pipeline dialogue_serve --image IMG --deployment
                                         # what its deployer would apply to serve it

Each system adds its own commands (horoscope's `generate`, ...) in `stackpipes/<system>/cli.py`,
found by that name. Heavy libraries (ZenML, MLflow, pandas) are imported only inside the command
that needs them, so `--help` and argument errors answer at once.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import pkgutil
import sys
from collections.abc import Callable
from pathlib import Path

import stackpipes
from pipelines import PIPELINES
from stackpipes.platform.env import PROJECT_ROOT, boot_zenml

# Packages of stackpipes that are libraries, not systems (systems may bring a cli module).
LIBRARIES = ("platform", "core", "lm", "speech")
Handler = Callable[[argparse.Namespace], int]


def system_cli_modules() -> list:
    """`stackpipes.<system>.cli` of every system that has one, in name order."""
    found = []
    for module in pkgutil.iter_modules(stackpipes.__path__):
        if module.ispkg and module.name not in LIBRARIES:
            name = f"stackpipes.{module.name}.cli"
            if importlib.util.find_spec(name) is not None:
                found.append(importlib.import_module(name))
    return found


def cli_modules() -> list:
    """The shared core's commands (`review`), then each system's."""
    return [importlib.import_module("stackpipes.core.cli"), *system_cli_modules()]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="run.py",
        description="Run stackpipes pipelines on a stack chosen by configuration (stacks/*.yaml).",
    )
    parser.add_argument("--stack", help="stack file name under stacks/ (e.g. local)")
    parser.add_argument("--pipeline", choices=sorted(PIPELINES), help="pipeline to run")
    parser.add_argument("--config", help="ZenML run configuration YAML (default: configs/PIPELINE.yaml)")
    parser.add_argument("--dataset", help="for a pipeline configured per dataset: configs/PIPELINE/DATASET.yaml")
    parser.add_argument("--input", metavar="FILE",
                        help="for a pipeline that takes one input file (lecture_summary): the file")
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
    render = commands.add_parser(
        "render", help="write the Kubernetes manifests ZenML would submit for --pipeline on --stack"
    )
    # Also accepted after `render` (SUPPRESS keeps values given before it).
    render.add_argument("--stack", default=argparse.SUPPRESS)
    render.add_argument("--pipeline", choices=sorted(PIPELINES), default=argparse.SUPPRESS)
    render.add_argument("--config", default=argparse.SUPPRESS)
    render.add_argument("--dataset", default=argparse.SUPPRESS)
    render.add_argument("--schedule", metavar="CRON", default=argparse.SUPPRESS)
    render.add_argument("--image", required=True, help="the project image the manifests run")
    render.add_argument("--out", default="outputs/k8s", help="folder for the manifests (default outputs/k8s)")
    render.add_argument("--k8s-version", default="1.30.0", help="Kubernetes version to validate against")
    render.add_argument("--deployment", action="store_true",
                        help="what the stack's deployer applies to serve the pipeline (Deployment, Service), not a run")
    return parser


def _system_commands(parser: argparse.ArgumentParser) -> dict[str, Handler]:
    """Add every system's commands to `parser`; a name two systems claim is a bug, said at once."""
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    handlers: dict[str, Handler] = {}
    for module in cli_modules():
        for name, handler in module.add_commands(commands).items():
            if name in handlers or name in BUILTIN_COMMANDS:
                raise RuntimeError(f"{module.__name__}: command '{name}' is already taken")
            handlers[name] = handler
    return handlers


def _stack_ready(spec, activate: bool = True):
    """Start the stack's services, then register (idempotently) and activate it."""
    from stackpipes.platform.registration import bring_up

    return bring_up(spec, activate=activate)


def cmd_stack_up(name: str, activate: bool = True) -> int:
    from stackpipes.platform.stackfile import load_stack_file, stack_path

    spec = load_stack_file(stack_path(name))
    result = _stack_ready(spec, activate=activate)
    for action in result.actions:
        print(f"  {action}")
    print(f"stack '{spec.name}' is {'up to date' if not result.changed else 'registered'}")
    return 0


def cmd_stacks() -> int:
    from stackpipes.platform.stackfile import StackFileError, load_stack_file, stacks_dir

    boot_zenml()
    from stackpipes.platform.registration import registered_stacks

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
    from stackpipes.platform.services import zenml_server

    if port is not None:
        os.environ["STACKPIPES_ZENML_PORT"] = str(port)
    if stop:
        return zenml_server.down()
    zenml_server.up()
    print(f"ZenML dashboard: {zenml_server.runs_url()}  (stop with: python run.py dashboard --stop)")
    return 0


def cmd_airflow(action: str) -> int:
    from stackpipes.platform.services import airflow_server

    if action == "install":
        airflow_server.install()
    elif action == "up":
        print(f"Airflow UI and API: {airflow_server.up()}  (stop with: python run.py airflow down)")
    elif action == "down":
        print(f"Airflow stopped ({airflow_server.down()} processes signalled)")
    else:
        for key, value in airflow_server.status().items():
            print(f"{key:<10} {value}")
    return 0


def cmd_service(name: str, label: str, command: str, action: str) -> int:
    """up / down / status of one of the project's servers (stackpipes.platform.services)."""
    from stackpipes.platform.services import service_module

    service = service_module(name)
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
    from stackpipes.platform.processes import run_in_foreground

    uri = tracking_uri()
    if uri is None:
        print("error: the active stack has no MLflow experiment tracker", file=sys.stderr)
        return 1
    if uri.startswith(("http://", "https://")):
        print(f"the active stack's MLflow tracking server serves its own UI: {uri}")
        return 0
    print(f"MLflow UI for {uri}: http://127.0.0.1:{port}")
    mlflow = str(Path(sys.executable).parent / "mlflow")
    # Its own process group, stopped whole with the command: MLflow's server forks workers.
    return run_in_foreground([mlflow, "ui", "--backend-store-uri", uri, "--host", "127.0.0.1", "--port", str(port)])


def _stack_pipeline_config(args: argparse.Namespace):
    """The stack file, pipeline entry and run config that --stack/--pipeline/--config name."""
    from stackpipes.platform.stackfile import load_stack_file, stack_path

    spec = load_stack_file(stack_path(args.stack))
    entry = PIPELINES[args.pipeline]
    config = pipeline_config_path(args.pipeline, getattr(args, "config", None), getattr(args, "dataset", None))
    from stackpipes.platform.runconfig import load_run_config

    load_run_config(config)  # refuses a missing file, bad YAML and inline credentials
    if getattr(args, "input", None):
        config = _with_input(entry, config, args.input)
    # Activate only the ZenML integrations this stack's flavors belong to (each costs imports).
    os.environ.setdefault("STACKPIPES_INTEGRATIONS", ",".join(sorted({c.flavor for c in spec.components.values()})))
    return spec, entry, config


INPUT_PARAMETER = "input_file"


def _with_input(entry, config: Path, given: str) -> Path:
    """The run configuration with the pipeline's `input_file` set to the absolute path of --input
    (a derived copy under the state folder; the file in configs/ is not changed)."""
    import inspect

    from stackpipes.platform.env import state_dir
    from stackpipes.platform.runconfig import with_parameters

    pipeline = getattr(importlib.import_module(entry.module), entry.attribute)
    if INPUT_PARAMETER not in inspect.signature(pipeline.entrypoint).parameters:
        raise ValueError(f"--input: pipeline '{entry.attribute}' takes no input file")
    path = Path(given).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"--input {given}: no such file")
    return with_parameters(config, {INPUT_PARAMETER: str(path.absolute())}, state_dir() / "run_configs")


def pipeline_config_path(pipeline: str, config: str | None, dataset: str | None) -> Path:
    """--config, else configs/PIPELINE/DATASET.yaml for --dataset, else configs/PIPELINE.yaml; a
    pipeline configured per dataset (a folder configs/PIPELINE/) names its datasets when none is given."""
    if config:
        return Path(config)
    folder = PROJECT_ROOT / "configs" / pipeline
    datasets = sorted(path.stem for path in folder.glob("*.yaml")) if folder.is_dir() else []
    if dataset:
        if dataset not in datasets:
            raise ValueError(f"--dataset {dataset!r}: no {folder.relative_to(PROJECT_ROOT)}/{dataset}.yaml; "
                             f"datasets: {', '.join(datasets) or 'none'}")
        return folder / f"{dataset}.yaml"
    default = PROJECT_ROOT / PIPELINES[pipeline].default_config
    if not default.exists() and datasets:
        raise ValueError(f"--pipeline {pipeline} is configured per dataset: give --dataset "
                         f"({', '.join(datasets)}) or --config FILE")
    return default


# Failures a user can fix (a malformed stack file, a bad export, data that breaks its contract):
# one readable `error:` line, exit code 1; ZenML's traceback stays in the step's log.
EXPECTED_ERRORS = (ValueError, FileNotFoundError, KeyError, RuntimeError)


def cmd_run(args: argparse.Namespace) -> int:
    spec, entry, config = _stack_pipeline_config(args)
    for action in _stack_ready(spec).actions:
        if not action.endswith(": unchanged"):
            print(f"  {action}")
    from zenml.client import Client

    from stackpipes.platform.env import quiet_console_tracebacks

    quiet_console_tracebacks(EXPECTED_ERRORS)

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
    from stackpipes.platform.runs import live_run_marker, mark_abandoned_runs

    with live_run_marker() as started:
        for name in mark_abandoned_runs(started):
            print(f"  run {name}: marked failed (its process ended before it finished)")
        run = pipeline()
    if args.schedule:
        print(f"scheduled '{args.pipeline}' on stack '{spec.name}' with cron '{args.schedule}'")
        return 0
    report = getattr(module, "report", None)
    if run is not None and report is not None:
        print(report(Client().get_pipeline_run(run.id)))
    return 0


def cmd_render(args: argparse.Namespace) -> int:
    import yaml

    spec, entry, config = _stack_pipeline_config(args)
    boot_zenml()
    from stackpipes.platform.k8s_render import render, render_deployment, validate_manifests
    from stackpipes.platform.registration import stack_up

    stack_up(spec)
    pipeline = getattr(importlib.import_module(entry.module), entry.attribute)
    if getattr(args, "deployment", False):
        rendered = render_deployment(pipeline, image=args.image, name=args.pipeline.replace("_", "-"),
                                     settings=spec.settings)
    else:
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


BUILTIN_COMMANDS = ("stacks", "stack", "dashboard", "airflow", "s3", "mlflow-server", "mlflow-ui", "render")


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    system_handlers = _system_commands(parser)
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
            return cmd_service("s3", "S3-compatible server", "s3", args.action)
        if args.command == "mlflow-server":
            return cmd_service("mlflow", "MLflow tracking server", "mlflow-server", args.action)
        if args.command == "mlflow-ui":
            return cmd_mlflow_ui(args.port)
        if args.command in system_handlers:
            return system_handlers[args.command](args)
        if args.command == "render":
            if not (args.stack and args.pipeline):
                parser.error("render needs --stack and --pipeline")
            return cmd_render(args)
        if not (args.stack and args.pipeline):
            parser.error("give --stack and --pipeline, or a COMMAND")
        return cmd_run(args)
    except EXPECTED_ERRORS as exc:
        # Expected failures (bad stack file, bad input data, failed data checks) end with a
        # readable message; ZenML has already logged the failing step's traceback.
        print(f"error: {describe_error(exc, args)}", file=sys.stderr)
        return 1


def describe_error(exc: BaseException, args: argparse.Namespace) -> str:
    """One readable line; a pipeline or step parameter that does not validate is named with its key."""
    from pydantic import ValidationError

    chain: list[BaseException] = []
    cause: BaseException | None = exc
    while cause is not None:
        chain.append(cause)
        cause = cause.__cause__
    found = next((i for i, error in enumerate(chain) if isinstance(error, ValidationError)), None)
    if found is None:
        return str(exc)
    where = args.config or (PIPELINES[args.pipeline].default_config if getattr(args, "pipeline", None) else "")
    problems = []
    for error in chain[found].errors():  # type: ignore[union-attr]
        location = ".".join(str(part) for part in error["loc"])
        if location == "value" and found > 0:
            # A step parameter: ZenML names it in the error around pydantic's.
            location = str(chain[found - 1]).split(":")[0]
        else:
            location = f"parameters.{location}"
        problems.append(f"{location}: {error['msg']} (got {error.get('input')!r})")
    return f"{where}: invalid pipeline parameters, nothing was run: {'; '.join(problems)}"

if __name__ == "__main__":
    sys.exit(main())
