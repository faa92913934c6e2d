"""stackpipes: ML pipelines on ZenML whose orchestration is chosen by stack files.

Layers, each importing only those below it (checked by `make lint`): `platform` (stack files,
services, our ZenML flavors), then the shared ML core `core` and the language-model library `lm`,
then one package per system (`chat_forecast`, `horoscope`). See docs/ARCHITECTURE.md.
"""

from stackpipes.platform import legacy as _legacy

_legacy.install()  # state stored by the earlier layout keeps loading (see stackpipes.platform.legacy)
