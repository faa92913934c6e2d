"""Stack components that a step process builds only when the step uses them.

ZenML builds every component of the stack when a step process starts. Building the MLflow
experiment tracker or model registry imports MLflow (about 2 s here), yet most steps log nothing
to MLflow. In an out-of-process step (an Airflow task, a step-operator subprocess) these
components are stand-ins that answer `id`, `name`, `type`, `flavor`, `environment` and `secrets`
from the stored model and build the real component on first use of anything else. While ZenML
builds the Stack, `isinstance` checks see the base class of the component type; afterwards a
type check builds the real component (ZenML's MLflow registry checks the tracker's class).
"""

from __future__ import annotations

import threading
from typing import Any, Callable

_building_stack = threading.local()  # `.active` while ZenML builds a Stack in this thread
_CHEAP = {"id", "name", "type", "flavor", "environment", "secrets"}
# Hooks ZenML calls on components a step does not use, which these implementations leave as
# StackComponent's no-ops (checked in ZenML 0.98's source): the step hooks go to every component
# except trackers and step operators; the pipeline-run hook to every component, when a task
# starts the run (the first tasks of an Airflow DAG run).
_INHERITED_NOOPS = {
    ("model_registry", "mlflow"): {"prepare_step_run": None, "cleanup_step_run": None, "get_step_run_metadata": {},
                                   "get_pipeline_run_metadata": {}},
    ("experiment_tracker", "mlflow"): {"get_pipeline_run_metadata": {}},
}


class LazyComponent:
    """Stands for a stack component until something other than its identity is needed."""

    __slots__ = ("_model", "_base", "_build", "_real")

    def __init__(self, model: Any, base: type, build: Callable[[], Any]):
        object.__setattr__(self, "_model", model)
        object.__setattr__(self, "_base", base)
        object.__setattr__(self, "_build", build)
        object.__setattr__(self, "_real", None)

    def _component(self) -> Any:
        real = object.__getattribute__(self, "_real")
        if real is None:
            real = object.__getattribute__(self, "_build")()
            object.__setattr__(self, "_real", real)
        return real

    def __getattribute__(self, name: str) -> Any:
        if name in _CHEAP and object.__getattribute__(self, "_real") is None:
            model = object.__getattribute__(self, "_model")
            return model.flavor_name if name == "flavor" else getattr(model, name)
        if object.__getattribute__(self, "_real") is None:
            if name == "__class__" and getattr(_building_stack, "active", False):
                # ZenML's Stack checks each component's base type; a check against the
                # implementation (isinstance(tracker, MLFlowExperimentTracker)) builds it.
                return object.__getattribute__(self, "_base")
            model = object.__getattribute__(self, "_model")
            noops = _INHERITED_NOOPS.get((model.type.value, model.flavor_name), {})
            if name in noops:
                value = noops[name]
                return lambda *args, **kwargs: dict(value) if isinstance(value, dict) else value
        if name in ("_component", "__repr__"):
            return object.__getattribute__(self, name)
        return getattr(object.__getattribute__(self, "_component")(), name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._component(), name, value)

    def __repr__(self) -> str:
        model = object.__getattribute__(self, "_model")
        return f"LazyComponent({model.type.value} '{model.name}')"


def make_components_lazy() -> None:
    """From now on, experiment trackers and model registries are built on first use."""
    from zenml.enums import StackComponentType
    from zenml.experiment_trackers import BaseExperimentTracker
    from zenml.model_registries import BaseModelRegistry
    from zenml.stack import Stack, StackComponent

    if getattr(StackComponent, "_stackpipes_lazy", False):
        return
    lazy_types = {
        StackComponentType.EXPERIMENT_TRACKER: BaseExperimentTracker,
        StackComponentType.MODEL_REGISTRY: BaseModelRegistry,
    }
    build = StackComponent.from_model.__func__

    def from_model(cls: type, component_model: Any) -> Any:
        base = lazy_types.get(component_model.type)
        if base is None:
            return build(cls, component_model)
        return LazyComponent(component_model, base, lambda: _built(build(cls, component_model)))

    StackComponent.from_model = classmethod(from_model)  # type: ignore[method-assign]
    build_stack = Stack.from_model.__func__

    def stack_from_model(cls: type, stack_model: Any) -> Any:
        previous, _building_stack.active = getattr(_building_stack, "active", False), True
        try:
            return build_stack(cls, stack_model)
        finally:
            _building_stack.active = previous

    Stack.from_model = classmethod(stack_from_model)  # type: ignore[method-assign]
    StackComponent._stackpipes_lazy = True  # type: ignore[attr-defined]


def _built(component: Any) -> Any:
    from stackpipes.platform.env import lean_mlflow_cleanup

    if component.flavor == "mlflow":
        lean_mlflow_cleanup()
    return component
