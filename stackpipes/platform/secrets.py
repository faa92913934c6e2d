"""Reading a ZenML secret's values: how every part of the project gets a credential at run time
(registered from the environment by `stack up`, never written in a file)."""

from __future__ import annotations

from typing import Any, Optional


def secret_values(name: str) -> Optional[dict[str, Any]]:
    """The values of the ZenML secret `name`, or None when there is no secret of that name."""
    from stackpipes.platform.env import configure_environment

    configure_environment()  # ZenML reads its config path when first imported
    from zenml.client import Client

    try:
        secret = Client().get_secret(name, allow_partial_name_match=False)
    except KeyError:
        return None
    return dict(secret.secret_values)
