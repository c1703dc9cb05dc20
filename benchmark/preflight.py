"""Before a long `bench run` starts: is the infrastructure there? A missing sandbox, pdflatex or
model endpoint would otherwise surface hours later as failed stages of the model's ideas.

Checks: the sandbox can isolate a run (unless --unsafe-no-sandbox), pdflatex and bibtex are on
PATH, and one cheap call to the model under test and to each reviewer of the panel answers.
GPUs: which ones the runs see and whether CUDA works inside the sandbox (a short probe per GPU),
and a loud warning when a template asks for CUDA but its runs get no GPU.
"""
from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


class PreflightError(RuntimeError):
    """The infrastructure a run needs is missing; nothing was started."""


@dataclass
class PreflightReport:
    sandbox: str
    tools: dict[str, str]
    models: dict[str, str]
    gpus: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def check_sandbox(unsafe_no_sandbox: bool) -> str:
    """What the sandbox enforces here (`scientist.sandbox.enforcement_report`); no isolation at all
    refuses the run, a degraded protection is reported and the run goes on."""
    if unsafe_no_sandbox:
        return "skipped (--unsafe-no-sandbox)"
    from scientist.sandbox import enforcement_report

    report = enforcement_report()
    isolation = report.protections.get("isolation", "NOT AVAILABLE: no report")
    if isolation.startswith("NOT AVAILABLE"):
        raise PreflightError("sandbox: " + isolation.removeprefix("NOT AVAILABLE: ").splitlines()[0])
    return "; ".join(report.degraded) or "all protections enforced"


def check_tools(names: tuple[str, ...] = ("pdflatex", "bibtex")) -> dict[str, str]:
    found = {name: shutil.which(name) for name in names}
    missing = [n for n, path in found.items() if path is None]
    if missing:
        raise PreflightError(f"{' and '.join(missing)} not on PATH: papers cannot be compiled "
                             "(Debian: apt-get install texlive-latex-base texlive-latex-extra texlive-bibtex-extra)")
    return {n: str(p) for n, p in found.items()}


def check_model(name: str, client: Any, role: str) -> str:
    """One short call; any failure (credentials, endpoint, unknown model) refuses the run."""
    try:
        reply = client.complete([{"role": "user", "content": "Reply with the single word OK."}],
                                max_tokens=8, purpose="preflight")
    except Exception as err:  # noqa: BLE001 - whatever the provider raised, the run cannot start
        first = (str(err).splitlines() or [""])[0][:300]
        raise PreflightError(f"{role} {name} did not answer a test call: {type(err).__name__}: {first}") from None
    return (getattr(reply, "text", "") or "").strip()[:40] or "(empty reply)"


def check_gpus(gpus: tuple[int, ...], templates: list[str], *, unsafe_no_sandbox: bool) -> tuple[list[str], list[str]]:
    """(lines, warnings): what each run sees, CUDA inside per GPU, and templates that want CUDA and get none."""
    from scientist.sandbox import gpu

    lines, warnings, working = [], [], 0
    for index in gpus:
        probe = gpu.probe_cuda((index,), unsafe_no_sandbox=unsafe_no_sandbox)
        lines.append(f"each run pinned to one GPU; {probe.line()}")
        working += probe.works
        if not probe.works:
            warnings.append(f"CUDA does not work inside the sandbox on GPU {index} ({probe.detail}): "
                            "templates will fall back to the CPU")
    if not gpus:
        lines.append("GPUs: none for the runs (" + gpu.enforcement_line() + ")")
    if not working:
        for name in templates:
            folder = _template_folder(name)
            if folder is not None and gpu.expects_cuda(folder):
                warnings.append(f"template {name} asks for CUDA but its runs get no working GPU: it will train on "
                                "the CPU, slowly, until its time limit (--gpus auto|0,1 on a GPU machine)")
    return lines, warnings


def _template_folder(name: str) -> Any:
    try:
        from scientist.templates import template_dir

        return template_dir(name)
    except Exception:  # noqa: BLE001 - an unknown template is reported elsewhere
        return None


def preflight(model: str, reviewers: list[str], *, unsafe_no_sandbox: bool,
              client_for: Callable[[str], Any], gpus: tuple[int, ...] = (),
              templates: list[str] | None = None) -> PreflightReport:
    """Raise PreflightError with a one-line reason when the run cannot work."""
    sandbox = check_sandbox(unsafe_no_sandbox)
    tools = check_tools()
    models = {f"model {model}": check_model(model, client_for(model), "model")}
    for reviewer in dict.fromkeys(reviewers):
        if reviewer != model:
            models[f"reviewer {reviewer}"] = check_model(reviewer, client_for(reviewer), "reviewer")
    lines, warnings = check_gpus(tuple(gpus), list(templates or []), unsafe_no_sandbox=unsafe_no_sandbox)
    return PreflightReport(sandbox=sandbox, tools=tools, models=models, gpus=lines, warnings=warnings)


def uncached_client(litellm_kwargs: dict[str, Any] | None = None) -> Callable[[str], Any]:
    """Clients that really call the provider: a cached reply proves nothing about the endpoint."""
    def make(name: str) -> Any:
        from reviewer.llm import ModelClient

        return ModelClient(name, cache=False, max_retries=1, litellm_kwargs=litellm_kwargs)
    return make
