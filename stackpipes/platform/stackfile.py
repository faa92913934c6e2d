"""Declarative stack files (`stacks/NAME.yaml`): parsing and validation, without importing ZenML.

A stack file names a ZenML stack and describes each component (type, flavor, config), the custom
flavors to register, the secrets the components reference (values come from the environment at
`stack up`, never from the file), and run-time settings applied to every pipeline on the stack.
Every error names the file, the key and what was expected.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Optional

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

# ZenML's StackComponentType values (checked against zenml.enums in tests; kept literal here so
# validating a file does not import ZenML).
COMPONENT_TYPES = (
    "orchestrator",
    "artifact_store",
    "container_registry",
    "image_builder",
    "step_operator",
    "experiment_tracker",
    "model_registry",
    "model_deployer",
    "alerter",
    "annotator",
    "data_validator",
    "feature_store",
    "log_store",
    "deployer",
    "sandbox",
)
REQUIRED_TYPES = ("orchestrator", "artifact_store")

# A config value under a key like these must be a ZenML secret reference, never a literal.
SENSITIVE_KEY = re.compile(r"(password|secret|token|api_?key|api_?hash|access_?key|private_?key|credential|(^|_)session$)", re.I)
# ... except keys that hold the *name* of a secret, or a Kubernetes reference to one, not a credential.
NAMES_A_SECRET = re.compile(r"^(authentication_secret|secret_name|\w+_secret_name|secretkeyref|secretref)$")
SECRET_REFERENCE = re.compile(r"^\{\{\s*[\w.-]+\.[\w.-]+\s*\}\}$")
ENV_REFERENCE = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}$")
# The same reference inside a longer value (`sqlite:///${DIR}/mlflow.db`).
EMBEDDED_ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class StackFileError(ValueError):
    """A stack file that cannot be used, with the file, the key and what was expected."""

    def __init__(self, path: Path | str, key: str, expected: str):
        self.path, self.key, self.expected = str(path), key, expected
        super().__init__(f"{path}: {key}: {expected}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ComponentSpec(_Strict):
    """One stack component: its flavor and configuration."""

    flavor: str = Field(min_length=1)
    name: Optional[str] = None
    config: dict[str, Any] = Field(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: Optional[str]) -> Optional[str]:
        if value is not None and not NAME.match(value):
            raise ValueError("a name of letters, digits, '.', '_' and '-'")
        return value


class SecretSpec(_Strict):
    """A ZenML secret the stack needs; each value names an environment variable to read."""

    name: str = Field(min_length=1)
    values: dict[str, str]
    optional: bool = False

    @field_validator("values")
    @classmethod
    def _env_only(cls, values: dict[str, str]) -> dict[str, str]:
        for key, value in values.items():
            if not isinstance(value, str) or not ENV_REFERENCE.match(value):
                raise ValueError(
                    f"'{key}' must be an environment reference like ${{MY_VAR}}; "
                    "secret values never live in the stack file"
                )
        return values


class StackSpec(_Strict):
    """A whole stack file."""

    name: str = Field(min_length=1)
    description: str = ""
    components: dict[str, ComponentSpec]
    flavors: list[str] = Field(default_factory=list)
    secrets: list[SecretSpec] = Field(default_factory=list)
    settings: dict[str, Any] = Field(default_factory=dict)
    # Environment variables ZenML sets for every step on this stack (where a pipeline's raw data
    # lives, say); values may be ${VAR:-default}; never credentials.
    environment: dict[str, str] = Field(default_factory=dict)
    services: list[str] = Field(default_factory=list)  # servers the project starts first
    path: Optional[str] = Field(default=None, exclude=True)

    @field_validator("services")
    @classmethod
    def _known_services(cls, services: list[str]) -> list[str]:
        from stackpipes.platform.services import SERVICES

        unknown = [s for s in services if s not in SERVICES]
        if unknown:
            raise ValueError(f"unknown service(s) {unknown}; known: {list(SERVICES)}")
        return services

    def component_name(self, component_type: str) -> str:
        """The registered name of a component: explicit, or `<stack>-<type>`."""
        spec = self.components[component_type]
        return spec.name or f"{self.name}-{component_type.replace('_', '-')}"


def _format_location(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc) or "<top level>"


def _is_sensitive(key: Any) -> bool:
    name = str(key)
    return bool(SENSITIVE_KEY.search(name)) and not NAMES_A_SECRET.match(name.lower())


def inline_credentials(value: Any, where: str, sensitive: bool = False) -> list[str]:
    """The keys below `where` that hold a credential written out: a value under a key that looks
    sensitive (password, token, secret, key, credential), at any depth, that is not a ZenML
    secret reference `{{name.key}}`. Switches, numbers and empty values are not credentials."""
    if isinstance(value, dict):
        found = []
        for key, item in value.items():
            found += inline_credentials(item, f"{where}.{key}" if where else str(key), sensitive or _is_sensitive(key))
        return found
    if isinstance(value, list):
        return [hit for index, item in enumerate(value) for hit in inline_credentials(item, f"{where}[{index}]", sensitive)]
    if not sensitive or isinstance(value, (bool, int, float)) or value in (None, ""):
        return []
    return [] if isinstance(value, str) and SECRET_REFERENCE.match(value) else [where]


def _check_secrets_not_inline(spec: StackSpec, path: Path) -> None:
    found = [hit for ctype, component in spec.components.items()
             for hit in inline_credentials(component.config, f"components.{ctype}.config")]
    found += inline_credentials(spec.settings, "settings")
    if found:
        raise StackFileError(
            path, found[0],
            "a secret reference like {{secret_name.key}}; credentials are never written inline in a "
            "stack file, in any part of it",
        )


def parse_stack(data: Any, path: Path | str) -> StackSpec:
    """Validate already-loaded YAML data as a stack file."""
    path = Path(path)
    if not isinstance(data, dict):
        raise StackFileError(path, "<top level>", "a mapping with 'name' and 'components'")
    try:
        spec = StackSpec.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = _format_location(first["loc"])
        raise StackFileError(path, loc, f"{first['msg']} (got {first.get('input')!r})") from None
    for ctype in spec.components:
        if ctype not in COMPONENT_TYPES:
            raise StackFileError(
                path, f"components.{ctype}", f"one of the component types {', '.join(COMPONENT_TYPES)}"
            )
    for ctype in REQUIRED_TYPES:
        if ctype not in spec.components:
            raise StackFileError(path, f"components.{ctype}", "required: every stack has one")
    for index, source in enumerate(spec.flavors):
        if not re.match(r"^[A-Za-z_][\w.]*\.[A-Za-z_]\w*$", source):
            raise StackFileError(path, f"flavors[{index}]", "an import path like package.module.FlavorClass")
    _check_secrets_not_inline(spec, path)
    for name in spec.environment:
        if SENSITIVE_KEY.search(name) and not NAMES_A_SECRET.match(name.lower()):
            raise StackFileError(
                path, f"environment.{name}",
                "no credentials in a stack's environment (reference a ZenML secret by name instead)",
            )
    spec.path = str(path)
    return spec


def load_stack_file(path: Path | str) -> StackSpec:
    """Read and validate `stacks/NAME.yaml`."""
    path = Path(path)
    if not path.is_file():
        raise StackFileError(path, "<file>", "an existing stack file")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise StackFileError(path, "<file>", f"valid YAML ({exc})") from None
    spec = parse_stack(data, path)
    if spec.name != path.stem:
        raise StackFileError(path, "name", f"'{path.stem}' (the name must match the file name)")
    return spec


def resolve_env(value: str, path: Path | str, key: str, env: Optional[dict[str, str]] = None) -> Optional[str]:
    """Resolve `${VAR}` or `${VAR:-default}`; None when unset and no default."""
    env = os.environ if env is None else env
    match = ENV_REFERENCE.match(value)
    if not match:
        raise StackFileError(path, key, "an environment reference like ${MY_VAR}")
    name, default = match.group(1), match.group(2)
    return env.get(name, default)


def resolve_config(value: Any, path: Path | str, key: str, env: Optional[dict[str, str]] = None) -> Any:
    """A component config with every `${VAR}` / `${VAR:-default}` value read from the environment.

    Machine-specific values (a Kubernetes context, an endpoint, a registry) stay out of the file;
    credentials never come this way (they are secret references, checked at load time).
    """
    if isinstance(value, dict):
        return {k: resolve_config(v, path, f"{key}.{k}", env) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_config(v, path, f"{key}[{i}]", env) for i, v in enumerate(value)]
    if isinstance(value, str) and ENV_REFERENCE.match(value):
        resolved = resolve_env(value, path, key, env)
        if resolved is None:
            raise StackFileError(path, key, f"the environment variable {ENV_REFERENCE.match(value).group(1)} to be set")
        return _scalar(resolved)
    if isinstance(value, str) and EMBEDDED_ENV_REFERENCE.search(value):
        # Inside a longer value each reference is replaced by its text; the value stays a string.
        environment = os.environ if env is None else env

        def substitute(match: re.Match[str]) -> str:
            resolved = environment.get(match.group(1), match.group(2))
            if resolved is None:
                raise StackFileError(path, key, f"the environment variable {match.group(1)} to be set")
            return resolved

        return EMBEDDED_ENV_REFERENCE.sub(substitute, value)
    return value


def _scalar(text: str) -> Any:
    """An environment value typed as YAML would type it in the file ("true", "3600", "0.5")."""
    try:
        typed = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    return typed if isinstance(typed, (bool, int, float)) else text


def stacks_dir() -> Path:
    from stackpipes.platform.env import PROJECT_ROOT

    return PROJECT_ROOT / "stacks"


def stack_path(name: str) -> Path:
    """The file for a stack name, with a clear error listing the known stacks."""
    path = stacks_dir() / f"{name}.yaml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in stacks_dir().glob("*.yaml"))) or "none"
        raise StackFileError(path, "<file>", f"an existing stack file (known stacks: {known})")
    return path
