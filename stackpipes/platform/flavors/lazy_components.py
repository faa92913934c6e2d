"""Stack components built only when something uses them, and MLflow runs opened only when a step logs.

ZenML builds every component of the stack when a run (or a step process) starts. Building the
MLflow experiment tracker or model registry imports MLflow (about 1.5 s here), yet most steps log
nothing to MLflow. Here these components are stand-ins that answer `id`, `name`, `type`,
`flavor`, `environment`, `secrets` and `config` from the stored model (the config through the
flavor's config class, which does not import MLflow) and build the real component on first use
of anything else. While ZenML builds the Stack, `isinstance` checks see the base class of the
component type; afterwards a type check builds the real component (ZenML's MLflow registry
checks the tracker's class). An unbuilt stand-in has no `validator`: the stack's components are
validated, built for real, whenever `stack up` registers a change (registration.py).

A tracked step that says so (`@step(experiment_tracker=True, extra=MLFLOW_RUN_ON_FIRST_LOG)`) gets
its MLflow run when it first logs something (`open_step_run`, called by the shared tracking
helpers in stackpipes.core.tracking), not before it starts: ZenML's tracker opens one around every
tracked step (a few store queries, and importing MLflow), also for steps that log nothing in a run
(a training step with no retrain due). Such a step leaves no empty MLflow run and no tracker URL in
its metadata when it logs nothing. Other tracked steps (ones that call `mlflow` directly, as
ZenML's documentation shows) get their run before they start, as with ZenML's own tracker.
"""

from __future__ import annotations

import copy
import importlib
import threading
from typing import Any, Callable

_building_stack = threading.local()  # `.active` while ZenML builds a Stack in this thread
_step = threading.local()  # `.pending`: (tracker, info) of the running tracked step until it logs; `.opened`
_CHEAP = {"id", "name", "type", "flavor", "environment", "secrets"}
_STEP_HOOKS = {"prepare_step_run", "cleanup_step_run", "get_step_run_metadata"}
# A step's `extra` that opts in to an MLflow run opened on its first log (see the docstring).
MLFLOW_RUN_ON_FIRST_LOG = {"mlflow_run": "on_first_log"}
# What the implementations' `settings_class` returns (ZenML's compiler asks every component), as
# (module, class) of a module that does not import MLflow, or None (StackComponent's default).
_SETTINGS_CLASSES = {
    ("experiment_tracker", "mlflow"): ("zenml.integrations.mlflow.flavors.mlflow_experiment_tracker_flavor",
                                       "MLFlowExperimentTrackerSettings"),
    ("model_registry", "mlflow"): None,
}
# Hooks ZenML calls on components a step does not use, which these implementations leave as
# StackComponent's no-ops (checked in ZenML 0.98's source): the step hooks go to every component
# except trackers and step operators; the pipeline-run hook to every component, when a task
# starts the run (the first tasks of an Airflow DAG run).
_INHERITED_NOOPS = {
    ("model_registry", "mlflow"): {"prepare_step_run": None, "cleanup_step_run": None, "get_step_run_metadata": {},
                                   "get_pipeline_run_metadata": {}, "get_docker_builds": []},
    ("experiment_tracker", "mlflow"): {"get_pipeline_run_metadata": {}, "get_docker_builds": []},
}


class LazyComponent:
    """Stands for a stack component until something other than its identity is needed."""

    __slots__ = ("_model", "_base", "_build", "_real", "_config")

    def __init__(self, model: Any, base: type, build: Callable[[], Any]):
        object.__setattr__(self, "_model", model)
        object.__setattr__(self, "_base", base)
        object.__setattr__(self, "_build", build)
        object.__setattr__(self, "_real", None)
        object.__setattr__(self, "_config", None)

    def _cheap_config(self) -> Any:
        """The component's config, from its flavor's config class (no implementation import)."""
        config = object.__getattribute__(self, "_config")
        if config is None:
            from zenml.stack import Flavor

            model = object.__getattribute__(self, "_model")
            config = Flavor.from_model(model.flavor).config_class(**model.configuration)
            object.__setattr__(self, "_config", config)
        return config

    def _component(self) -> Any:
        real = object.__getattribute__(self, "_real")
        if real is None:
            real = object.__getattribute__(self, "_build")()
            object.__setattr__(self, "_real", real)
        return real

    def __getattribute__(self, name: str) -> Any:
        model = object.__getattribute__(self, "_model")
        key = (model.type.value, model.flavor_name)
        if name in _STEP_HOOKS and key == ("experiment_tracker", "mlflow"):
            return lambda *args, **kwargs: _deferred_step_hook(self, name, *args, **kwargs)
        if object.__getattribute__(self, "_real") is None:
            if name in _CHEAP:
                return model.flavor_name if name == "flavor" else getattr(model, name)
            if name == "config":
                return object.__getattribute__(self, "_cheap_config")()
            if name == "settings_class" and key in _SETTINGS_CLASSES:
                where = _SETTINGS_CLASSES[key]
                return None if where is None else getattr(importlib.import_module(where[0]), where[1])
            if name == "validator":
                return None  # validated for real by `stack up` (see the module's docstring)
            if name == "__class__" and getattr(_building_stack, "active", False):
                # ZenML's Stack checks each component's base type; a check against the
                # implementation (isinstance(tracker, MLFlowExperimentTracker)) builds it.
                return object.__getattribute__(self, "_base")
            noops = _INHERITED_NOOPS.get(key, {})
            if name in noops:
                value = noops[name]
                return lambda *args, **kwargs: copy.copy(value)
        if name in ("_component", "_cheap_config", "__repr__"):
            return object.__getattribute__(self, name)
        return getattr(object.__getattribute__(self, "_component")(), name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._component(), name, value)

    def __repr__(self) -> str:
        model = object.__getattribute__(self, "_model")
        return f"LazyComponent({model.type.value} '{model.name}')"


def _deferred_step_hook(component: LazyComponent, hook: str, *args: Any, **kwargs: Any) -> Any:
    """ZenML's step hooks on a deferring MLflow tracker: remember the step, open nothing yet."""
    opened = getattr(_step, "opened", None)
    if hook == "prepare_step_run":
        info = kwargs.get("info", args[0] if args else None)
        _step.pending, _step.opened = (component, info), None
        extra = getattr(getattr(info, "config", None), "extra", None) or {}
        if extra.get("mlflow_run") != MLFLOW_RUN_ON_FIRST_LOG["mlflow_run"]:
            open_step_run()  # the step may call mlflow itself: its run is open before it starts
        return None
    if hook == "get_step_run_metadata":
        return component._component().get_step_run_metadata(*args, **kwargs) if opened is component else {}
    _step.pending = None  # cleanup_step_run
    if opened is component:
        _step.opened = None
        return component._component().cleanup_step_run(*args, **kwargs)
    return None


def open_step_run() -> bool:
    """Open the MLflow run of the tracked step running in this thread, if it was deferred and is
    not open yet (ZenML's own tracker code does it: run name, experiment, tags, resuming). False
    where no tracked step is waiting for its run."""
    pending = getattr(_step, "pending", None)
    if pending is None:
        return False
    component, info = pending
    _step.pending = None
    component._component().prepare_step_run(info=info)
    _step.opened = component
    return True


def validate_lazy_components(stack_model: Any) -> None:
    """Run the validators a stand-in skips at run time (tracker, registry), on components built
    for real: `stack up` calls it whenever it registers a change, so a stack that ZenML would
    refuse is refused there, with ZenML's message."""
    from zenml.stack import Stack

    previous, _building_stack.eager = getattr(_building_stack, "eager", False), True
    try:
        stack = Stack.from_model(stack_model)
        for component in (stack.experiment_tracker, stack.model_registry):
            if component is not None and component.validator is not None:
                component.validator.validate(stack=stack)
    finally:
        _building_stack.eager = previous


def boot_with_lazy_components() -> None:
    """boot_zenml with the MLflow integration left out of activation (it imports MLflow, ~1.5 s)
    and trackers and registries built on first use. STACKPIPES_LAZY_COMPONENTS=0 builds
    everything up front, as ZenML does."""
    import os

    from stackpipes.platform.env import DEFAULT_INTEGRATIONS, boot_zenml

    if os.environ.get("STACKPIPES_LAZY_COMPONENTS", "1") == "0":
        boot_zenml()
        return
    allowed = os.environ.get("STACKPIPES_INTEGRATIONS", ",".join(DEFAULT_INTEGRATIONS)).split(",")
    os.environ["STACKPIPES_INTEGRATIONS"] = ",".join(i for i in allowed if i != "mlflow")
    boot_zenml()
    make_components_lazy()


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
        if getattr(_building_stack, "eager", False):
            return _built(build(cls, component_model))
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
