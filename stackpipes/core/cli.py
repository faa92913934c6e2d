"""`python run.py review ...`: list runs with what they decided, show one, approve or reject, and
the production model of every pipeline (what the paid Models page of the dashboard would show)."""

from __future__ import annotations

import argparse
import sys
from typing import Any, Callable, Optional

MAX_LIMIT = 1000


def load_production_for_command(stack: Optional[str], name: str, artifact: str, metric: str,
                                trained_by: str) -> Optional[tuple[Any, Any]]:
    """For a command that answers from a production model: the stack (default `local`) brought
    up, and `(model, production info)` of model `name`; None, with the command that trains one
    printed, when there is no production version yet. `trained_by` is the run.py arguments of
    that command after the stack (`--pipeline P --dataset D`)."""
    from stackpipes.platform.registration import bring_up
    from stackpipes.platform.stackfile import load_stack_file, stack_path

    spec = load_stack_file(stack_path(stack or "local"))
    bring_up(spec)
    from stackpipes.core.registry import load_production_model, production_info

    production = production_info(name, artifact, metric)
    if not production.exists:
        print(f"error: there is no production '{name}' model yet: run python run.py --stack {spec.name} {trained_by}",
              file=sys.stderr)
        return None
    return load_production_model(production), production


def add_commands(commands: argparse._SubParsersAction) -> dict[str, Callable[[argparse.Namespace], int]]:
    review = commands.add_parser("review", help="review runs: drift, decisions, approve / reject retraining and promotion")
    review.add_argument("--stack", default=argparse.SUPPRESS, help="stack whose ZenML store holds the runs (default local)")
    actions = review.add_subparsers(dest="review_action", required=True)
    listing = actions.add_parser("list", help="recent runs with drift share, decision, promotion and review state")
    listing.add_argument("--pipeline", help="only this pipeline's runs")
    listing.add_argument("--limit", type=int, default=20, help=f"how many runs (default 20, at most {MAX_LIMIT})")
    show = actions.add_parser("show", help="one run: drift, decision, promotion, review state, where its reports are")
    show.add_argument("run", help="run name, id or id prefix")
    for name, help_text in (("approve", "approve a run's retrain request or promote a model version"),
                            ("reject", "reject a run's retrain request or archive a challenger")):
        action = actions.add_parser(name, help=help_text)
        action.add_argument("target", help="run name / id, or MODEL:VERSION")
        action.add_argument("--note", default="", help="why (required to reject)")
        action.add_argument("--by", help="who (default: the OS user)")
    actions.add_parser("models", help="per pipeline model: the production version, its metric, when and why")
    ui = actions.add_parser("ui", help="Evidently's UI over the drift history (one project per pipeline)")
    ui.add_argument("--stop", action="store_true", help="stop it instead")
    return {"review": review_command}


def review_command(args: argparse.Namespace) -> int:
    from stackpipes.core.review import ReviewError
    from stackpipes.platform.flavors.lazy_components import boot_with_lazy_components

    stack = getattr(args, "stack", None)
    listing = args.review_action == "list"
    if listing and not 1 <= args.limit <= MAX_LIMIT:
        print(f"error: --limit {args.limit}: expected 1 to {MAX_LIMIT}", file=sys.stderr)
        return 2
    if listing and not stack:  # from the store's database, without starting ZenML, where it can be
        from stackpipes.core.run_listing import list_runs

        runs = list_runs(args.pipeline, args.limit)
        if runs is not None:
            print(_listing(runs, args.pipeline))
            return 0
    if stack:  # its services up (a remote MLflow registry), registered and active
        from stackpipes.platform.registration import bring_up
        from stackpipes.platform.stackfile import load_stack_file, stack_path

        bring_up(load_stack_file(stack_path(stack)))
    else:
        boot_with_lazy_components()
    try:
        if listing:  # the direct read does not apply (or --stack names the store): ZenML's client
            print(list_text(args.pipeline, args.limit, store="client"))
        elif args.review_action == "show":
            print(show_text(args.run))
        elif args.review_action == "ui":
            from stackpipes.core.drift_history import remote_url, workspace_path
            from stackpipes.platform.services import evidently_ui

            if args.stop:
                return evidently_ui.down()
            remote = remote_url()
            if remote is not None:  # the stack names its own Evidently service
                print(f"Evidently UI: {remote}  (the stack's Evidently workspace; nothing started here)")
                return 0
            print(f"Evidently UI: {evidently_ui.url() if evidently_ui.running() else evidently_ui.up(workspace_path())}"
                  "  (one project per pipeline; stop with: python run.py review ui --stop)")
        elif args.review_action in ("approve", "reject"):
            from stackpipes.core import review

            print(getattr(review, args.review_action)(args.target, by=args.by, note=args.note))
        else:
            print(models_text())
    except ReviewError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def _fmt(value: object, digits: int = 2) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return "-" if value is None or value == "" else str(value)


def list_text(pipeline: str | None, limit: int, store: str = "auto") -> str:
    """The listing; `store`: auto (the store's database read directly where possible, else ZenML's
    client), client, or direct (None-safe only where the direct read applies)."""
    from stackpipes.core.run_listing import ListedRun, list_runs

    runs = list_runs(pipeline, limit) if store in ("auto", "direct") else None
    if runs is None:
        from zenml.client import Client

        filters = {"pipeline_name": pipeline} if pipeline else {}
        runs = [ListedRun(name=run.name, pipeline=run.pipeline.name if run.pipeline else "-",
                          status=str(run.status.value), metadata=dict(run.run_metadata),
                          tags={tag.name for tag in (run.tags or [])})
                for run in Client().list_pipeline_runs(sort_by="desc:created", size=limit, hydrate=True,
                                                       **filters).items]
    return _listing(runs, pipeline)


def _listing(runs: list, pipeline: str | None) -> str:
    from stackpipes.core.review import review_state

    if not runs:
        return "no runs" + (f" of {pipeline}" if pipeline else "")
    rows = [("run", "pipeline", "status", "drift share", "decision", "promoted", "review")]
    for run in runs:
        meta = run.metadata
        rows.append((run.name, run.pipeline, run.status, _fmt(meta.get("drifted_share")), _fmt(meta.get("decision")),
                     _fmt(meta.get("promoted")), review_state(meta, run.tags)))
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(str(cell).ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows)


def show_text(target: str) -> str:
    from stackpipes.core.review import ReviewError, resolve, run_review_state
    from stackpipes.core.summary import dashboard_line, review_lines

    found = resolve(target)
    if found.run is None:
        raise ReviewError(f"{target}: show takes a run (MODEL:VERSION is for approve and reject)")
    run = found.run
    lines = [f"Run '{run.name}' of {run.pipeline.name if run.pipeline else '?'}: {run.status.value}, "
             f"created {run.created:%Y-%m-%d %H:%M}"]
    lines += review_lines(run)
    version = found.version
    if version is not None:
        stage = getattr(version.stage, "value", version.stage) or "none"
        lines.append(f"  model version: {version.model.name}:{version.name} (stage {stage})")
    lines.append(f"  review:        {run_review_state(run)}")
    link = evidently_link(run)
    if link:
        lines.append(f"  Evidently:     {link}  (python run.py review ui)")
    note = run.run_metadata.get("review_note")
    if note:
        lines.append(f"  review note:   {note}")
    lines.append(dashboard_line(run))
    return "\n".join(lines)


def evidently_link(run: object) -> str | None:
    """The Evidently UI page of the run's drift snapshot, if its drift step added one."""
    from stackpipes.core.drift_history import snapshot_link

    for step in run.steps.values():  # type: ignore[attr-defined]
        meta = step.run_metadata
        if meta.get("evidently_project") and meta.get("evidently_snapshot"):
            return snapshot_link(str(meta["evidently_project"]), str(meta["evidently_snapshot"]))
    return None


def models_text() -> str:
    from zenml.client import Client
    from zenml.enums import ModelStages

    client = Client()
    lines = []
    for model in client.list_models(size=100).items:
        try:
            version = client.get_model_version(model.id, ModelStages.PRODUCTION)
        except KeyError:
            lines.append(f"{model.name}: no production version")
            continue
        meta = version.run_metadata
        metrics = ", ".join(f"{k} {v:.4g}" for k, v in sorted(meta.items())
                            if isinstance(v, float) and ("holdout" in k or "heldout" in k))
        lines.append(f"{model.name}: production is version {version.name}" + (f" ({metrics})" if metrics else ""))
        lines.append(f"  since {version.updated:%Y-%m-%d %H:%M} UTC: {meta.get('promotion_reason', 'promoted')}")
        if meta.get("review_state"):
            lines.append(f"  review: {meta['review_state']}" + (f" ({meta['review_note']})" if meta.get("review_note") else ""))
    return "\n".join(lines) or "no models yet"
