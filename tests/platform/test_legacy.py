"""The old module names that stored state records keep resolving to the code that runs now."""

from __future__ import annotations

import importlib

import pytest

from stackpipes.platform import legacy


@pytest.mark.parametrize("old", sorted(legacy.MOVED_MODULES))
def test_every_old_name_is_an_alias_over_real_modules(old):
    module = importlib.import_module(old)
    assert isinstance(module, legacy.MovedModule), f"{old} is a real module again: drop it from MOVED_MODULES"
    for target in legacy.MOVED_MODULES[old]:
        assert not isinstance(importlib.import_module(target), legacy.MovedModule)


def test_names_stored_state_uses_are_the_classes_of_today():
    from materializers.chat_forecast import ForecastModelMaterializer
    from materializers.core import HashedPandasMaterializer, ReportMaterializer
    from stackpipes.chat_forecast.model import ForecastModel
    from stackpipes.chat_forecast.types import Forecast
    from stackpipes.core.types import DriftSummary
    from stackpipes.lm.materializer import LanguageModelMaterializer
    from stackpipes.platform.flavors.local_step_operator import LocalStepOperatorFlavor

    expected = {
        "materializers.dataframe.HashedPandasMaterializer": HashedPandasMaterializer,
        "materializers.reports.ReportMaterializer": ReportMaterializer,
        "materializers.forecast.ForecastModelMaterializer": ForecastModelMaterializer,
        "materializers.hf_model.LanguageModelMaterializer": LanguageModelMaterializer,
        "stackpipes.forecasting.ForecastModel": ForecastModel,
        "stackpipes.types.Forecast": Forecast,
        "stackpipes.types.DriftSummary": DriftSummary,
        "stackpipes.orchestration.local_step_operator.LocalStepOperatorFlavor": LocalStepOperatorFlavor,
    }
    for path, cls in expected.items():
        module, _, name = path.rpartition(".")
        assert getattr(importlib.import_module(module), name) is cls, path
    with pytest.raises(AttributeError, match="has no attribute 'nothing_here'"):
        _ = importlib.import_module("stackpipes.forecasting").nothing_here
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("stackpipes.never_was_a_module")
