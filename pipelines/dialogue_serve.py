"""dialogue_serve: the production dialogue model answering over HTTP, served by the stack's ZenML
deployer (`python run.py serve --pipeline dialogue`).

The model is loaded once per server process (`on_init`); `POST /answer` answers from it at once,
concurrent requests batched into one `generate` call; `POST /invoke` runs this pipeline's one
step through the same batcher and records the answer as a tracked run (lineage: which model
version said what). Everything but /health, /status, /info, /metrics and the docs needs the
service key as a Bearer token.

    python run.py serve --pipeline dialogue [--stack local] [--port 8470]   # deploy / update
    python run.py --stack local --pipeline dialogue_serve                    # one tracked answer, no server
"""

from __future__ import annotations

from typing import Annotated, Any, Optional

from pydantic import Field
from zenml import pipeline, step
from zenml.config import DeploymentSettings, EndpointMethod, EndpointSpec, MiddlewareSpec

from stackpipes.dialogue.answer import MAX_CONTEXT_ITEMS, MAX_MESSAGE_CHARS
from stackpipes.dialogue.serving import (
    BearerKeyMiddleware,
    answer_endpoint,
    cleanup_service,
    health_endpoint,
    init_service,
)
from stackpipes.platform.bounds import items

Context = Optional[items(MAX_CONTEXT_ITEMS, Any)]  # oldest first; a text (the user's) or {"speaker", "text"}
Message = Annotated[str, Field(max_length=MAX_MESSAGE_CHARS)]

SETTINGS = DeploymentSettings(
    app_title="stackpipes dialogue service",
    app_description="POST /answer {\"context\": [...], \"message\": \"...\"} -> {\"answer\", \"model_version\"}",
    custom_endpoints=[
        EndpointSpec(path="/answer", method=EndpointMethod.POST, handler=answer_endpoint, auth_required=False),
        EndpointSpec(path="/status", method=EndpointMethod.GET, handler=health_endpoint, auth_required=False),
    ],
    custom_middlewares=[MiddlewareSpec(middleware=BearerKeyMiddleware)],
)


@step(enable_cache=False)
def answer_message(context: Context = None, message: Message = "hello") -> Annotated[dict, "answer"]:
    """The answer to `message` after `context`, from the model the service loaded."""
    from stackpipes.dialogue.serving import answer_once

    return answer_once(context or [], message).model_dump()


@pipeline(enable_cache=False, on_init=init_service, on_init_kwargs={"model_name": "dialogue_chitchat"},
          on_cleanup=cleanup_service, settings={"deployment": SETTINGS})
def dialogue_serve(context: Context = None, message: Message = "hello") -> dict:
    return answer_message(context=context, message=message)


def report(run: Any) -> str:
    """The answer of a one-off run, for run.py to print."""
    from stackpipes.core.summary import dashboard_line

    lines = [f"Run '{run.name}': {run.status}"]
    if "answer_message" in run.steps and run.steps["answer_message"].outputs.get("answer"):
        answer = run.steps["answer_message"].outputs["answer"][0].load()
        lines.append(f"  answer:        {answer['answer']!r} (model version {answer['model_version']})")
    lines.append(dashboard_line(run))
    return "\n".join(lines)
