"""fsspec access to object storage: credentials for s3:// URIs from a ZenML secret or the environment.

Local paths need no options. For s3:// the key pair and endpoint come from the ZenML secret named
by the caller when it exists (keys aws_access_key_id, aws_secret_access_key, endpoint_url and
optionally aws_session_token), otherwise from the environment: STACKPIPES_S3_* first (exported by
`stackpipes.s3_server.up()`), then the standard AWS_* variables. Nothing here logs a credential.
"""

from __future__ import annotations

import logging
import os
from typing import Any, Optional

from stackpipes.platform.secrets import secret_values

logger = logging.getLogger(__name__)

S3_SCHEMES = ("s3://", "s3a://")

# (storage option, secret key, environment variables in order of preference)
_S3_FIELDS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("key", "aws_access_key_id", ("STACKPIPES_S3_ACCESS_KEY_ID", "AWS_ACCESS_KEY_ID")),
    ("secret", "aws_secret_access_key", ("STACKPIPES_S3_SECRET_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY")),
    ("token", "aws_session_token", ("STACKPIPES_S3_SESSION_TOKEN", "AWS_SESSION_TOKEN")),
    ("endpoint_url", "endpoint_url", ("STACKPIPES_S3_ENDPOINT", "AWS_ENDPOINT_URL")),
)


def is_s3(uri: str) -> bool:
    return uri.startswith(S3_SCHEMES)


def _from_environment() -> dict[str, str]:
    found = {}
    for option, _, variables in _S3_FIELDS:
        value = next((os.environ[name] for name in variables if os.environ.get(name)), None)
        if value:
            found[option] = value
    return found


def _from_secret(values: dict[str, Any]) -> dict[str, str]:
    return {option: str(values[key]) for option, key, _ in _S3_FIELDS if values.get(key)}


def storage_options(uri: str, secret_name: Optional[str] = None) -> dict[str, Any]:
    """fsspec storage options for `uri`: s3fs key/secret/token/client_kwargs, or {} for local paths.

    A secret that exists is used as a whole (its credentials never mix with the environment's);
    a named secret that does not exist falls back to the environment.
    """
    if not is_s3(uri):
        return {}
    values = secret_values(secret_name) if secret_name else None
    if secret_name and values is None:
        logger.info("ZenML secret '%s' not found; S3 credentials come from the environment", secret_name)
    found = _from_secret(values) if values is not None else _from_environment()
    endpoint_url = found.pop("endpoint_url", None)
    if endpoint_url:
        found["client_kwargs"] = {"endpoint_url": endpoint_url}
    return found


def filesystem(uri: str, secret_name: Optional[str] = None) -> tuple[Any, str]:
    """The fsspec filesystem for `uri` and the path within it (no scheme)."""
    import fsspec

    return fsspec.core.url_to_fs(uri, **storage_options(uri, secret_name))


def full_uri(fs: Any, path: str) -> str:
    """`path` as returned by `fs` (no scheme) turned back into a URI a caller can pass again."""
    return path if is_local_filesystem(fs) else fs.unstrip_protocol(path)


def is_local_filesystem(fs: Any) -> bool:
    """Whether `fs` is this machine's file system (paths, not URIs)."""
    protocols = fs.protocol if isinstance(fs.protocol, (tuple, list)) else (fs.protocol,)
    return "file" in protocols or "local" in protocols
