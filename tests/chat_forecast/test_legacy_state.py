"""State stored by the layout before issue 10 still loads: a production forecaster and the history.

`legacy_layout/` holds what a chat_forecast run of that layout stored (commit 26cbd0d, bundled
export): the files of its production `forecast_model` (a pickle naming `stackpipes.forecasting`)
and of its `chat_history`, with the materializer and data-type paths ZenML recorded for them
(`materializers.forecast...`, `materializers.dataframe...`). The test registers them in a fresh
project exactly as ZenML recorded them and reads them through the code that runs now.
"""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path

import pandas as pd
import pytest

LEGACY = Path(__file__).resolve().parent / "legacy_layout"


def _register(client, name: str, recorded: dict, artifact_type: str) -> object:
    """An artifact version whose files and recorded sources are those of the old layout."""
    from zenml.config.source import Source
    from zenml.enums import ArtifactSaveType, ArtifactType
    from zenml.models import ArtifactVersionRequest

    store = client.active_stack.artifact_store
    uri = f"{store.path}/legacy/{name}/{uuid.uuid4().hex[:8]}"
    shutil.copytree(LEGACY / name, uri)
    request = ArtifactVersionRequest(
        artifact_name=name, version="1", type=ArtifactType(artifact_type), artifact_store_id=store.id,
        uri=uri, materializer=Source.from_import_path(recorded["materializer"]),
        data_type=Source.from_import_path(recorded["data_type"]), save_type=ArtifactSaveType.MANUAL,
        project=client.active_project.id,
    )
    return client.zen_store.create_artifact_version(request)


@pytest.mark.pipeline
def test_a_production_model_and_history_stored_by_the_old_layout_load(fresh_project):
    from zenml.client import Client
    from zenml.enums import ModelStages
    from zenml.model.utils import link_artifact_version_to_model_version
    from zenml.models import ModelRequest, ModelVersionRequest

    from stackpipes.chat_forecast import (
        HISTORY_ARTIFACT,
        HOLDOUT_METRIC,
        MODEL_ARTIFACT,
        MODEL_NAME,
    )
    from stackpipes.chat_forecast.model import ForecastModel
    from stackpipes.core.artifacts import latest_successful
    from stackpipes.core.registry import load_production_model, production_info

    recorded = json.loads((LEGACY / "sources.json").read_text())
    # The paths really are the old layout's: none of these modules exists any more.
    assert recorded[MODEL_ARTIFACT]["data_type"] == "stackpipes.forecasting.ForecastModel"
    assert recorded[HISTORY_ARTIFACT]["materializer"] == "materializers.dataframe.HashedPandasMaterializer"
    assert not (Path(__file__).resolve().parents[2] / "stackpipes" / "forecasting.py").exists()

    client = Client()
    history = _register(client, HISTORY_ARTIFACT, recorded[HISTORY_ARTIFACT], recorded[HISTORY_ARTIFACT]["artifact_type"])
    model_artifact = _register(client, MODEL_ARTIFACT, recorded[MODEL_ARTIFACT], recorded[MODEL_ARTIFACT]["artifact_type"])
    model = client.zen_store.create_model(ModelRequest(name=MODEL_NAME, project=client.active_project.id))
    version = client.zen_store.create_model_version(
        ModelVersionRequest(model=model.id, project=client.active_project.id)
    )
    link_artifact_version_to_model_version(model_artifact, version)
    client.update_model_version(MODEL_NAME, version.id, stage=ModelStages.PRODUCTION, force=True)

    stored = latest_successful(HISTORY_ARTIFACT)
    assert stored is not None and str(stored.id) == str(history.id)
    messages = stored.load()
    assert isinstance(messages, pd.DataFrame)
    assert len(messages) == 8593 and messages["id"].is_unique  # the bundled export, deduplicated

    production = production_info(MODEL_NAME, MODEL_ARTIFACT, HOLDOUT_METRIC)
    assert production.exists and production.version == version.name
    forecaster = load_production_model(production)
    assert isinstance(forecaster, ForecastModel)  # the class of today's layout
    assert forecaster.candidate == recorded["model_version_metadata"]["candidate"]
    forecast = forecaster.predict(24)
    assert len(forecast) == 24 and (forecast["forecast"] >= 0).all()
    assert forecast["timestamp"].iloc[0] == forecaster.train_end + pd.Timedelta(hours=1)
