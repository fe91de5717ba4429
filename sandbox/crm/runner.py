"""What `milestones sandbox up` does: find or generate the data, apply faults, serve it.

server = start_sandbox(seed=1, size="small", port=8443)
print(server.connection_info())
server.wait()                       # until Ctrl-C
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sandbox.crm.config import SandboxConfig
from sandbox.crm.faults import parse_fault
from sandbox.crm.loader import ExportError
from sandbox.crm.sandbox import Sandbox
from sandbox.crm.server import SandboxServer

__all__ = ["RunOptions", "SandboxRunError", "prepare_export", "start_sandbox"]

DEFAULT_CACHE = Path("data") / "sandbox"


class SandboxRunError(Exception):
    """The sandbox cannot start; the message says why and what to change."""


@dataclass
class RunOptions:
    seed: int = 1
    size: str = "small"
    from_dir: Path | None = None
    faults: list[str] = field(default_factory=list)
    port: int = 0
    hubspot_port: int | None = None
    speed: float = 1.0
    future_days: int = 30
    cache_dir: Path = DEFAULT_CACHE
    webhook_url: str | None = None


def prepare_export(options: RunOptions) -> Path:
    """The folder to serve: --from as given, else a generated one (cached by seed and size)."""
    if options.from_dir is not None:
        if not (options.from_dir / "manifest.json").exists():
            raise SandboxRunError(
                f"--from {options.from_dir}: no manifest.json (not an export folder)"
            )
        return options.from_dir
    out = options.cache_dir / f"seed{options.seed}-{options.size}-future{options.future_days}"
    if (out / "manifest.json").exists():
        return out
    from sandbox.history import GeneratorError, build_params, generate

    try:
        params = build_params(seed=options.seed, size=options.size, future_days=options.future_days)
        generate(params, out, force=True)
    except GeneratorError as error:
        raise SandboxRunError(str(error)) from error
    return out


def start_sandbox(options: RunOptions) -> SandboxServer:
    try:
        faults = [parse_fault(spec) for spec in options.faults]
    except (TypeError, ValueError) as error:
        raise SandboxRunError(f"--faults: {error}") from error
    folder = prepare_export(options)
    config = SandboxConfig(webhook_url=options.webhook_url)
    try:
        sandbox = Sandbox.from_export(folder, config, speed=options.speed)
    except ExportError as error:
        raise SandboxRunError(str(error)) from error
    for fault in faults:
        sandbox.faults.add(fault)
    hubspot_port = options.hubspot_port
    if hubspot_port is None and options.port:
        hubspot_port = options.port + 1  # asked for: taken is an error, not a surprise
    try:
        server = SandboxServer(
            sandbox,
            salesforce_port=options.port,
            hubspot_port=hubspot_port,
            tls_dir=(options.cache_dir / "tls").resolve(),
        )
        return server.start()
    except OSError as error:
        raise SandboxRunError(
            f"cannot listen on port {options.port}/{hubspot_port or 'next'}: {error}"
        ) from error
