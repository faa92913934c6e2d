"""Sources of the project's earlier layout, still importable so that state stored by it loads.

ZenML records, for every artifact, the import path of its materializer and of its data type, and
for every registered flavor the path of its class; pickled objects (a stored forecaster, an MLflow
pyfunc) name their class's module. Those paths are from the layout they were saved with. When the
code moved (issue 10: platform / core / one package per system), the old module names below
became aliases: importing one gives a module whose attributes are looked up in the new modules,
in the order listed. Only names no real module has are served this way (the finder sits after
Python's own), nothing is copied, and new code never needs them.

Strings only: this module imports nothing of the project.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types
from typing import Any, Optional, Sequence

# old module -> the modules that hold its names now, searched in order
MOVED_MODULES: dict[str, tuple[str, ...]] = {
    # shared results, checks, drift, policy, tracking (stackpipes/*.py -> stackpipes/core/)
    "stackpipes.types": ("stackpipes.core.types", "stackpipes.chat_forecast.types"),
    "stackpipes.quality": ("stackpipes.core.checks",),
    "stackpipes.drift": ("stackpipes.core.drift",),
    "stackpipes.policy": ("stackpipes.core.policy",),
    "stackpipes.tracking": ("stackpipes.core.tracking",),
    "stackpipes.artifacts": ("stackpipes.core.artifacts",),
    # the forecaster (stackpipes/forecasting.py, mlflow_model.py -> stackpipes/chat_forecast/)
    "stackpipes.forecasting": (
        "stackpipes.chat_forecast.model", "stackpipes.chat_forecast.candidates",
        "stackpipes.chat_forecast.backtest", "stackpipes.chat_forecast.series",
        "stackpipes.chat_forecast.metrics", "stackpipes.chat_forecast.plot",
    ),
    "stackpipes.mlflow_model": ("stackpipes.chat_forecast.pyfunc",),
    "stackpipes.chat": (),
    "stackpipes.chat.telegram": (
        "stackpipes.telegram.export", "stackpipes.telegram.messages", "stackpipes.chat_forecast.history",
    ),
    "stackpipes.chat.live": ("stackpipes.telegram.live",),
    # the Telegram sources, shared with dialogue (issue 16: stackpipes/chat_forecast/ -> stackpipes/telegram/)
    "stackpipes.chat_forecast.telegram_export": ("stackpipes.telegram.export",),
    "stackpipes.chat_forecast.messages": ("stackpipes.telegram.messages",),
    "stackpipes.chat_forecast.telegram_live": ("stackpipes.telegram.live",),
    # platform (stackpipes/*.py, stackpipes/orchestration/ -> stackpipes/platform/)
    "stackpipes.orchestration": (),
    "stackpipes.orchestration.airflow_orchestrator": ("stackpipes.platform.flavors.airflow.orchestrator",),
    "stackpipes.orchestration.airflow_dag": ("stackpipes.platform.flavors.airflow.dag_generator",),
    "stackpipes.orchestration.local_step_operator": ("stackpipes.platform.flavors.local_step_operator",),
    "stackpipes.orchestration.entrypoint": ("stackpipes.platform.flavors.entrypoint",),
    "stackpipes.orchestration.lazy_components": ("stackpipes.platform.flavors.lazy_components",),
    # materializers (one module per system now)
    "materializers.dataframe": ("materializers.core",),
    "materializers.reports": ("materializers.core",),
    "materializers.forecast": ("materializers.chat_forecast",),
    "materializers.hf_model": ("stackpipes.lm.materializer",),
    # horoscope (modeling.py was split)
    "stackpipes.horoscope.modeling": ("stackpipes.horoscope.grid", "stackpipes.horoscope.generation"),
    "stackpipes.horoscope.landing": ("stackpipes.core.landing",),
}


class MovedModule(types.ModuleType):
    """An old module name: each attribute is the one of that name in the first new module that has it."""

    def __init__(self, name: str, targets: Sequence[str]):
        super().__init__(name, f"moved: its names live in {', '.join(targets) or 'its submodules'}")
        self.__path__: list[str] = []  # a package too, so that moved submodules import below it
        self._targets = tuple(targets)

    def __getattr__(self, attribute: str) -> Any:
        if attribute.startswith("__"):
            raise AttributeError(attribute)
        for target in self._targets:
            module = importlib.import_module(target)
            if hasattr(module, attribute):
                return getattr(module, attribute)
        raise AttributeError(f"module {self.__name__!r} (moved to {', '.join(self._targets)}) has no attribute {attribute!r}")


class _MovedLoader(importlib.abc.Loader):
    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        return MovedModule(spec.name, MOVED_MODULES[spec.name])

    def exec_module(self, module: types.ModuleType) -> None:
        return None


class MovedModuleFinder(importlib.abc.MetaPathFinder):
    """Finds only the old names of MOVED_MODULES, and only when no real module answers first."""

    def find_spec(self, fullname: str, path: Optional[Sequence[str]], target: Any = None) -> Optional[importlib.machinery.ModuleSpec]:
        if fullname not in MOVED_MODULES:
            return None
        return importlib.machinery.ModuleSpec(fullname, _MovedLoader(), is_package=True)


def install() -> None:
    """Make the old names importable in this process (idempotent). Python's own finders stay first."""
    if not any(isinstance(finder, MovedModuleFinder) for finder in sys.meta_path):
        sys.meta_path.append(MovedModuleFinder())
