"""Registering a stack file with ZenML, idempotently: create what is missing, update what changed.

`stack_up` is safe to run before every pipeline run: when nothing changed it only reads.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Optional

from stackpipes.platform.stackfile import StackFileError, StackSpec, resolve_config, resolve_env

logger = logging.getLogger(__name__)


@dataclass
class StackUpResult:
    """What `stack_up` did, for printing and for tests."""

    stack: str
    actions: list[str] = field(default_factory=list)
    # How to take back each change made so far, newest last: a failing sync applies none of the file.
    undo: list[tuple[str, Callable[[], Any]]] = field(default_factory=list, repr=False)

    @property
    def changed(self) -> bool:
        return any(not a.endswith(": unchanged") for a in self.actions)


def _find(get: Callable[..., Any], *args: Any, **kwargs: Any) -> Optional[Any]:
    """What a ZenML client getter returns, or None where it raises KeyError (nothing of that name)."""
    try:
        return get(*args, **kwargs)
    except KeyError:
        return None


def _register_flavors(spec: StackSpec, client: Any, result: StackUpResult) -> None:
    from zenml.utils import source_utils

    for index, source in enumerate(spec.flavors):
        try:
            flavor_class = source_utils.load(source)
        except Exception as exc:  # import errors of the user's module are reported as-is
            raise StackFileError(spec.path, f"flavors[{index}]", f"an importable flavor class ({exc})") from None
        flavor = flavor_class()
        existing = _find(client.get_flavor_by_name_and_type, flavor.name, flavor.type)
        if existing is not None and existing.source == source:
            result.actions.append(f"flavor {flavor.name}: unchanged")
            continue
        if existing is not None:
            # Updated in place: components registered with the flavor keep it (a flavor in use
            # cannot be deleted), e.g. after its class moved to another module.
            from zenml.models import FlavorUpdate

            model = flavor.to_model(integration="custom", is_custom=True)
            client.zen_store.update_flavor(
                existing.id, FlavorUpdate(source=source, config_schema=model.config_schema)
            )
            previous = FlavorUpdate(source=existing.source, config_schema=existing.config_schema)
            result.undo.append((f"flavor {flavor.name}", lambda i=existing.id, u=previous: client.zen_store.update_flavor(i, u)))
            result.actions.append(f"flavor {flavor.name}: updated")
            continue
        created = client.create_flavor(source=source, component_type=flavor.type)
        result.undo.append((f"flavor {flavor.name}", lambda i=created.id: client.delete_flavor(str(i))))
        result.actions.append(f"flavor {flavor.name}: registered")


def _sync_secrets(spec: StackSpec, client: Any, result: StackUpResult) -> None:
    for index, secret in enumerate(spec.secrets):
        values = {
            key: resolve_env(ref, spec.path, f"secrets[{index}].values.{key}")
            for key, ref in secret.values.items()
        }
        missing = [spec.secrets[index].values[k] for k, v in values.items() if v is None]
        if missing:
            if secret.optional:
                result.actions.append(f"secret {secret.name}: skipped (unset {', '.join(missing)})")
                continue
            raise StackFileError(
                spec.path, f"secrets[{index}]", f"the environment variables {', '.join(missing)} to be set"
            )
        existing = _find(client.get_secret, secret.name, allow_partial_name_match=False)
        if existing is None:
            created = client.create_secret(name=secret.name, values=values)
            result.undo.append((f"secret {secret.name}", lambda i=created.id: client.delete_secret(str(i))))
            result.actions.append(f"secret {secret.name}: created")
        elif existing.secret_values != values:
            client.update_secret(existing.id, add_or_update_values=values)
            previous = dict(existing.secret_values)
            added = [key for key in values if key not in previous]
            result.undo.append((f"secret {secret.name}", lambda i=existing.id, v=previous, a=added: client.update_secret(
                i, add_or_update_values=v, remove_values=a)))
            result.actions.append(f"secret {secret.name}: updated")
        else:
            result.actions.append(f"secret {secret.name}: unchanged")


def _sync_component(spec: StackSpec, ctype: str, client: Any, result: StackUpResult) -> str:
    from zenml.enums import StackComponentType

    component = spec.components[ctype]
    name = spec.component_name(ctype)
    component_type = StackComponentType(ctype)
    key = f"components.{ctype}"
    config = resolve_config(component.config, spec.path, f"{key}.config")
    existing = _find(client.get_stack_component, component_type, name, allow_name_prefix_match=False)
    try:
        if existing is None:
            client.create_stack_component(
                name=name, flavor=component.flavor, component_type=component_type, configuration=config
            )
            result.undo.append((f"{ctype} {name}", lambda: client.delete_stack_component(name, component_type)))
            result.actions.append(f"{ctype} {name}: created")
            return name
        if existing.flavor_name != component.flavor:
            raise StackFileError(
                spec.path,
                f"{key}.flavor",
                f"'{existing.flavor_name}' (component '{name}' is registered with that flavor; "
                f"remove it with `zenml {ctype.replace('_', '-')} delete {name}` to change it)",
            )
        # Keys dropped from the file are removed: ZenML merges, so they are sent as None.
        wanted = config
        current = dict(existing.configuration)
        if _normalised(current) != _normalised(wanted):
            update = {**{k: None for k in current if k not in wanted}, **wanted}
            client.update_stack_component(name, component_type, configuration=update)
            back = {**{k: None for k in wanted if k not in current}, **current}
            result.undo.append((f"{ctype} {name}", lambda: client.update_stack_component(
                name, component_type, configuration=back)))
            result.actions.append(f"{ctype} {name}: updated")
        else:
            result.actions.append(f"{ctype} {name}: unchanged")
    except StackFileError:
        raise
    except (ValueError, TypeError, KeyError, RuntimeError) as exc:
        raise StackFileError(spec.path, key, f"a valid '{component.flavor}' {ctype} ({exc})") from None
    return name


def _normalised(config: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in config.items() if v is not None}


# The stack's label holding a fingerprint of what the last full sync registered (see `_fingerprint`).
SYNCED_LABEL = "stackpipes_synced"


def _fingerprint(spec: StackSpec, stack: Any) -> str:
    """What a sync made the stack: the file (with its ${VAR} values resolved now) and each of the
    stack's components as registered (id and last update). Equal fingerprints mean nothing to do:
    a changed file or environment value, or a component edited by hand since, changes it."""
    import hashlib
    import json

    components = {
        str(ctype): [(str(c.id), str(c.updated)) for c in comps] for ctype, comps in sorted(stack.components.items())
    }
    wanted = {
        "components": {k: {"flavor": c.flavor, "name": spec.component_name(k),
                           "config": resolve_config(c.config, spec.path, f"components.{k}.config")}
                       for k, c in spec.components.items()},
        "flavors": spec.flavors,
        "environment": resolve_config(spec.environment, spec.path, "environment"),
        "registered": components,
    }
    return hashlib.sha256(json.dumps(wanted, sort_keys=True, default=str).encode()).hexdigest()


def _already_synced(spec: StackSpec, client: Any) -> bool:
    """Whether the last sync from this same file left the registered stack as it is now."""
    if spec.secrets:
        return False  # secret values come from the environment: always compared by the full sync
    stack = _find(client.get_stack, spec.name, allow_name_prefix_match=False)
    return stack is not None and (stack.labels or {}).get(SYNCED_LABEL) == _fingerprint(spec, stack)


def _full_sync(spec: StackSpec, client: Any, result: StackUpResult) -> None:
    """Every flavor, secret and component compared with the file and brought in line; each
    change leaves its undo in `result.undo`."""
    from zenml.enums import StackComponentType
    from zenml.exceptions import StackValidationError

    from stackpipes.platform.flavors.lazy_components import validate_lazy_components

    _register_flavors(spec, client, result)
    _sync_secrets(spec, client, result)
    names = {ctype: _sync_component(spec, ctype, client, result) for ctype in spec.components}
    wanted = {StackComponentType(ctype): name for ctype, name in names.items()}

    stack = _find(client.get_stack, spec.name, allow_name_prefix_match=False)
    if stack is None:
        client.create_stack(name=spec.name, components=wanted)
        result.undo.append((f"stack {spec.name}", lambda: client.delete_stack(spec.name)))
        result.actions.append(f"stack {spec.name}: created")
    else:
        registered = {ctype: comps[0].name for ctype, comps in stack.components.items() if comps}
        if registered != wanted:
            removed = {ctype: [] for ctype in registered if ctype not in wanted}
            client.update_stack(spec.name, component_updates={**removed, **wanted})
            dropped = {ctype: [] for ctype in wanted if ctype not in registered}
            result.undo.append((f"stack {spec.name}", lambda: client.update_stack(
                spec.name, component_updates={**dropped, **registered})))
            result.actions.append(f"stack {spec.name}: updated")
        else:
            result.actions.append(f"stack {spec.name}: unchanged")
    environment = resolve_config(spec.environment, spec.path, "environment")
    environment = {key: str(value) for key, value in environment.items()}
    current = client.get_stack(spec.name, allow_name_prefix_match=False).environment or {}
    if current != environment:
        # ZenML merges: variables dropped from the file are sent as None to remove them.
        client.update_stack(spec.name, environment={**{k: None for k in current if k not in environment}, **environment})
        result.actions.append(f"stack {spec.name}: environment updated")
    synced = client.get_stack(spec.name, allow_name_prefix_match=False)
    try:
        validate_lazy_components(synced)  # what runs skip for components built on first use
    except StackValidationError as exc:
        raise StackFileError(spec.path, "components", f"a stack ZenML accepts ({exc})") from None
    fingerprint = _fingerprint(spec, synced)
    if (synced.labels or {}).get(SYNCED_LABEL) != fingerprint:
        client.update_stack(spec.name, labels={**(synced.labels or {}), SYNCED_LABEL: fingerprint})


def _take_back(result: StackUpResult) -> None:
    """Undo this sync's changes, newest first, so that a file that fails half way leaves the store
    as it was (a stack and its components, flavors and secrets are applied whole or not at all)."""
    for what, undo in reversed(result.undo):
        try:
            undo()
        except Exception as exc:  # keep undoing the rest; the original error is what gets raised
            logger.warning("could not take back %s after a failed stack sync: %s", what, exc)
    result.undo.clear()


def stack_up(spec: StackSpec, activate: bool = True) -> StackUpResult:
    """Make the registered stack match the file; activate it.

    Before every run this is one read: when the stack still is what the last sync from the same
    file made it, nothing else is looked at. Otherwise every flavor, secret and component is
    compared and brought in line, all or nothing. Processes that start together take turns (a
    lock in the state folder): one creates the store and registers, the others find it done."""
    from stackpipes.platform.locks import state_lock

    with state_lock("stack"):
        return _stack_up(spec, activate)


def _stack_up(spec: StackSpec, activate: bool) -> StackUpResult:
    from zenml.client import Client

    client = Client()
    result = StackUpResult(stack=spec.name)
    _ = client.zen_store  # opens (on a first run: creates) the store, so that its database file exists
    from stackpipes.platform.env import secure_state

    secure_state()  # the store holds secrets: its database readable by its owner only
    if _already_synced(spec, client):
        result.actions.append(f"stack {spec.name}: unchanged")
        if activate and client.active_stack_model.name != spec.name:
            client.activate_stack(spec.name)
            result.actions.append(f"stack {spec.name}: activated")
        return result
    try:
        _full_sync(spec, client, result)
    except BaseException:
        _take_back(result)
        raise
    if activate and client.active_stack_model.name != spec.name:
        client.activate_stack(spec.name)
        result.actions.append(f"stack {spec.name}: activated")
    return result


def registered_stacks() -> tuple[list[str], str]:
    """Names of the registered stacks and the active one."""
    from zenml.client import Client

    client = Client()
    names = [s.name for s in client.list_stacks(size=1000).items]
    return names, client.active_stack_model.name


def bring_up(spec: StackSpec, activate: bool = True, echo: Any = print) -> StackUpResult:
    """Everything a command needs before it touches ZenML: the stack's services started (before
    ZenML is imported: the client reads its store then), ZenML booted, the stack registered
    (idempotently) and activated. `echo` gets one line per service started."""
    if spec.services:
        from stackpipes.platform.services import ensure

        for line in ensure(spec.services):
            echo(f"  {line}")
    from stackpipes.platform.flavors.lazy_components import boot_with_lazy_components
    from stackpipes.platform.locks import state_lock

    boot_with_lazy_components()
    with state_lock("stack"):
        result = stack_up(spec, activate=activate)
        _create_local_tracking_store()
    return result


def _local_tracking_database() -> Optional[str]:
    """The SQLite file of the active stack's MLflow tracker when it keeps its store inside a local
    artifact store (no tracking_uri), else None. Read from the stored models: MLflow not imported."""
    from zenml.client import Client
    from zenml.stack import StackComponent

    components = Client().active_stack_model.components
    trackers = components.get("experiment_tracker") or []
    if not trackers or trackers[0].flavor_name != "mlflow" or trackers[0].configuration.get("tracking_uri"):
        return None
    store = StackComponent.from_model(components["artifact_store"][0])
    if not store.config.is_local:
        return None
    return os.path.abspath(os.path.join(store.path, "mlflow.db"))  # where ZenML's MLflow tracker puts it


def experiment_tracking_uri() -> Optional[str]:
    """The active stack's MLflow tracking URI (what its tracker's get_tracking_uri gives for the
    configurations the stack files use), without building the tracker; None without one."""
    from zenml.client import Client

    trackers = Client().active_stack_model.components.get("experiment_tracker") or []
    if not trackers or trackers[0].flavor_name != "mlflow":
        return None
    database = _local_tracking_database()
    return f"sqlite:///{database}" if database else trackers[0].configuration.get("tracking_uri")


def _create_local_tracking_store() -> None:
    """Create the schema of the stack's local MLflow store (SQLite in the artifact store) if it is
    not there yet, while holding the state lock: two first runs at once would both create it."""
    database = _local_tracking_database()
    if database is None or os.path.exists(database):
        return
    from mlflow.tracking import MlflowClient

    os.makedirs(os.path.dirname(database), exist_ok=True)
    MlflowClient(tracking_uri=f"sqlite:///{database}").search_experiments(max_results=1)
