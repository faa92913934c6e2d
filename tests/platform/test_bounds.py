"""Every number a user can give has a ceiling (and every list a longest length).

A count without one lets a typo (an extra zero) exhaust memory or run for days, so this test
walks what a user can set, pipeline parameters, step parameters (those with a default: a run
config can set them) and the fields of every configuration model inside them, and names each
number or list that has no upper bound. Thresholds of a score are values, not amounts of work,
and may be anything the score can be; a seed only picks a sequence.
"""

from __future__ import annotations

import inspect
import typing
from typing import Any, Iterator

import annotated_types
import pytest
from pydantic import BaseModel

from stackpipes.platform.bounds import UNBOUNDED_NAMES

NUMBER = (int, float)


def _unwrap(annotation: Any) -> tuple[Any, list[Any]]:
    """The bare type and the constraints attached to it (Annotated metadata, Optional removed)."""
    metadata: list[Any] = []
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            args = typing.get_args(annotation)
            annotation, metadata = args[0], metadata + list(args[1:])
            continue
        if origin is typing.Union or str(origin) == "<class 'types.UnionType'>":
            rest = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(rest) == 1:
                annotation = rest[0]
                continue
        return annotation, metadata


def _constraints(metadata: list[Any]) -> list[Any]:
    flat = []
    for item in metadata:
        flat.extend(getattr(item, "metadata", None) or [item])  # a FieldInfo carries its own list
    return flat


def _has_ceiling(kind: Any, constraints: list[Any]) -> bool:
    origin = typing.get_origin(kind) or kind
    if origin in (list, tuple, set, frozenset):
        return any(isinstance(c, annotated_types.MaxLen) for c in constraints)
    return any(isinstance(c, (annotated_types.Le, annotated_types.Lt)) for c in constraints)


def _problems(where: str, name: str, annotation: Any, metadata: list[Any], seen: set) -> Iterator[str]:
    kind, extra = _unwrap(annotation)
    constraints = _constraints(metadata + extra)
    origin = typing.get_origin(kind) or kind
    if inspect.isclass(kind) and issubclass(kind, BaseModel):
        if kind not in seen:
            seen.add(kind)
            for field_name, field in kind.model_fields.items():
                yield from _problems(f"{kind.__name__}", field_name, field.annotation, [field], seen)
        return
    if name in UNBOUNDED_NAMES or name.endswith("threshold"):
        return
    if kind is bool:
        return
    if (inspect.isclass(origin) and issubclass(origin, NUMBER)) or origin in (list, tuple, set, frozenset):
        if not _has_ceiling(kind, constraints):
            yield f"{where}.{name} ({kind})"


def _pipelines() -> dict[str, Any]:
    import importlib

    from pipelines import PIPELINES

    return {name: importlib.import_module(entry.module) for name, entry in PIPELINES.items()}


def _user_settable(function: Any, only_defaults: bool) -> Iterator[tuple[str, Any]]:
    hints = typing.get_type_hints(function, include_extras=True)
    for name, parameter in inspect.signature(function).parameters.items():
        if only_defaults and parameter.default is inspect.Parameter.empty:
            continue  # an artifact input, not a parameter
        yield name, hints.get(name, Any)


def _all_steps() -> dict[str, Any]:
    """Every step a pipeline uses (what its module imported)."""
    from zenml.steps import BaseStep

    return {
        value.name: value
        for module in _pipelines().values()
        for value in vars(module).values()
        if isinstance(value, BaseStep)
    }


def test_every_number_and_list_a_user_can_give_has_a_ceiling():
    seen: set = set()
    problems = []
    for name, module in _pipelines().items():
        entrypoint = getattr(module, name).entrypoint
        for parameter, annotation in _user_settable(entrypoint, only_defaults=False):
            problems += _problems(f"pipeline {name}", parameter, annotation, [], seen)
    for name, step in _all_steps().items():
        for parameter, annotation in _user_settable(step.entrypoint, only_defaults=True):
            problems += _problems(f"step {name}", parameter, annotation, [], seen)
    from stackpipes.horoscope.sources import SourceSpec  # configured by YAML files, not parameters

    problems += _problems("source file", "spec", SourceSpec, [], seen)
    from stackpipes.ratings.sources import CommentSource

    problems += _problems("comment source file", "spec", CommentSource, [], seen)
    assert not problems, "no upper bound on:\n" + "\n".join(problems)


def test_a_count_past_its_ceiling_is_refused_naming_the_key():
    from pipelines.chat_forecast import chat_forecast

    with pytest.raises(ValueError) as failure:
        chat_forecast.with_options(enable_cache=False)(horizon=100_000)
    cause = failure.value.__cause__ or failure.value.__context__
    assert "horizon" in str(cause) and "less than or equal to" in str(cause)
