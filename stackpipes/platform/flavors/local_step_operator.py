"""The `stackpipes_local` step operator flavor: run a step in this process or pinned to local GPUs.

Training steps say only that they want a step operator (`step_operator: true`) and what they need
(`settings.resources.gpu_count`); the stack file decides where that is:

  - `mode: inprocess` (the `local` and `airflow` stacks): the step runs in the orchestrator's own
    process, exactly as without a step operator, so CPU-only machines and CI pay nothing;
  - `mode: subprocess` (the `local-gpu` stack, a single machine with GPUs): the step runs in a
    child process of the project's Python with `CUDA_VISIBLE_DEVICES` set to the GPUs it asked
    for (`resources.gpu_count`), taken from the operator's `devices` pool. A step that asks for
    no GPU sees none; a step that asks for more than the pool has gets what there is and logs a
    warning (its code falls back to the CPU on a machine without GPUs, as in CI).

On a Kubernetes stack ZenML's own `kubernetes` step operator takes the same steps and turns the
GPU request into pod limits (see stacks/kubernetes.yaml).
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import TYPE_CHECKING, Dict, List, Literal, Optional, Type, cast

from zenml.logger import get_logger
from zenml.step_operators import BaseStepOperator, BaseStepOperatorConfig, BaseStepOperatorFlavor

from stackpipes.platform.env import PROJECT_ROOT

if TYPE_CHECKING:
    from zenml.config.step_run_info import StepRunInfo
    from zenml.step_operators.step_operator_entrypoint_configuration import (
        StepOperatorEntrypointConfiguration,
    )

logger = get_logger(__name__)

FLAVOR = "stackpipes_local"
STEP_MODULE = "stackpipes.platform.flavors.step_task"
ENTRYPOINT_OPTION = "--entrypoint_config_source"


class LocalStepOperatorConfig(BaseStepOperatorConfig):
    """Where steps run and which GPUs exist.

    Attributes:
        mode: `inprocess` runs the step in the calling process; `subprocess` in a child process.
        devices: the pool of GPU ids (as CUDA numbers them) a subprocess step may be given.
            Empty: the ids in this machine's CUDA_VISIBLE_DEVICES, else none.
        timeout: seconds a subprocess step may run before it is stopped (None: no limit).
    """

    mode: Literal["inprocess", "subprocess"] = "inprocess"
    devices: List[str] = []
    timeout: Optional[float] = None

    @property
    def is_remote(self) -> bool:
        return False

    @property
    def is_local(self) -> bool:
        return True


class LocalStepOperator(BaseStepOperator):
    """Runs steps in this process, or in a child process pinned to GPUs."""

    @property
    def config(self) -> LocalStepOperatorConfig:
        return cast(LocalStepOperatorConfig, self._config)

    @property
    def entrypoint_config_class(self) -> Type["StepOperatorEntrypointConfiguration"]:
        from stackpipes.platform.flavors.entrypoint import (
            ProjectStepOperatorEntrypointConfiguration,
        )

        return ProjectStepOperatorEntrypointConfiguration

    def launch(self, info: "StepRunInfo", entrypoint_command: List[str], environment: Dict[str, str]) -> None:
        """Run the step and return when it has finished (ZenML then reads its status)."""
        if self.config.mode == "inprocess":
            self._run_in_process(entrypoint_command)
            return
        self._run_in_subprocess(info, entrypoint_command, environment)

    def _run_in_process(self, entrypoint_command: List[str]) -> None:
        # The entrypoint's own `run()` would re-activate integrations and change directory; in
        # this process both are done already, so only the step itself is run.
        arguments = entrypoint_command[entrypoint_command.index(ENTRYPOINT_OPTION):]
        entrypoint = self.entrypoint_config_class(arguments=arguments)
        entrypoint._run_step(step=entrypoint.step, snapshot=entrypoint.snapshot)

    def _run_in_subprocess(
        self, info: "StepRunInfo", entrypoint_command: List[str], environment: Dict[str, str]
    ) -> None:
        devices = self.devices_for(info)
        command = project_command(entrypoint_command)
        env = {**os.environ, **environment, "CUDA_VISIBLE_DEVICES": ",".join(devices)}
        env["STACKPIPES_STEP_OPERATOR_DEVICES"] = env["CUDA_VISIBLE_DEVICES"]
        logger.info(
            "Step '%s' runs in a subprocess on %s.",
            info.pipeline_step_name,
            f"GPU(s) {','.join(devices)}" if devices else "the CPU (no GPU requested)",
        )
        process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env)
        try:
            code = process.wait(timeout=self.config.timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise RuntimeError(
                f"step '{info.pipeline_step_name}' ran longer than the step operator's "
                f"timeout of {self.config.timeout} s and was stopped"
            ) from None
        if code != 0:
            raise RuntimeError(f"step '{info.pipeline_step_name}' failed in its subprocess (exit code {code})")

    def devices_for(self, info: "StepRunInfo") -> List[str]:
        """The GPU ids a step gets: as many as its `resources.gpu_count` asks for, from the pool."""
        wanted = info.config.resource_settings.gpu_count or 0
        if wanted <= 0:
            return []
        pool = available_devices(self.config.devices)
        if len(pool) < wanted:
            # CPU machines (CI) keep working: the step's own code falls back to the CPU.
            logger.warning(
                "Step '%s' asked for %d GPU(s) but the step operator has %d (%s); it runs with %s.",
                info.pipeline_step_name, wanted, len(pool), pool or "none",
                "those" if pool else "no GPU",
            )
        return pool[:wanted]


def available_devices(configured: Optional[List[str]]) -> List[str]:
    """The GPU pool: configured ids, else CUDA_VISIBLE_DEVICES, else the GPUs nvidia-smi lists."""
    if configured:
        return [str(d) for d in configured]
    if "CUDA_VISIBLE_DEVICES" in os.environ:
        return [d.strip() for d in os.environ["CUDA_VISIBLE_DEVICES"].split(",") if d.strip()]
    try:
        listed = subprocess.run(
            ["nvidia-smi", "--query-gpu=index", "--format=csv,noheader"],
            capture_output=True, text=True, timeout=20, check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []  # no NVIDIA driver: a CPU machine
    return [line.strip() for line in listed.splitlines() if line.strip()]


def project_command(entrypoint_command: List[str]) -> List[str]:
    """ZenML's `python -m zenml.entrypoints.entrypoint ARGS` as the project's step command.

    The project's entrypoint sets the environment and the limited integration activation before
    ZenML is imported; the arguments (and so the entrypoint configuration class) are ZenML's.
    """
    arguments = entrypoint_command[entrypoint_command.index(ENTRYPOINT_OPTION):]
    return [sys.executable, "-m", STEP_MODULE, *arguments]


class LocalStepOperatorFlavor(BaseStepOperatorFlavor):
    """Registers `stackpipes_local` (stack files list this class under `flavors:`)."""

    @property
    def name(self) -> str:
        return FLAVOR

    @property
    def docs_url(self) -> Optional[str]:
        return None

    @property
    def sdk_docs_url(self) -> Optional[str]:
        return None

    @property
    def logo_url(self) -> str:
        return "https://public-flavor-logos.s3.eu-central-1.amazonaws.com/step_operator/local.png"

    @property
    def config_class(self) -> Type[LocalStepOperatorConfig]:
        return LocalStepOperatorConfig

    @property
    def implementation_class(self) -> Type[LocalStepOperator]:
        return LocalStepOperator
