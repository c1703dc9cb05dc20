"""The plots stage: the model edits plot.py, the harness runs it in the sandbox and checks that
the figures exist; then the model describes each figure in the notes."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scientist.edits import EDIT_FORMAT_HELP, MAX_FILE_BYTES, EditReport, NewFilePolicy, apply_reply
from scientist.execution import failure_text, harness_files, run_command, run_dirs
from scientist.prompting import budget_chars, clip, shown, summarize_final_info
from scientist.records import ExperimentsRecord, FigureNotes, Idea, PlotAttempt, PlotResult
from scientist.rundir import IdeaDir
from scientist.sandbox import safe_io
from scientist.stage import keep_record

FIGURE_SUFFIXES = (".png", ".pdf", ".jpg", ".jpeg")
FIGURE_MAX_BYTES = 64 * 1024 * 1024  # a figure bigger than this is not one: the write-up would refuse to copy it

PROMPT = """The experiments for "{title}" are done. Modify plot.py to generate the most relevant
figures for the write-up.

The runs with results (directories under the current directory):
{runs}

The harness runs `{command}` in a sandbox in that directory (time limit: {limit}); you do not
run it. Save each figure as a .png file in the current directory, and include every run above
that matters for the paper, with clear labels. You may edit plot.py and notes.txt only.

{edit_help}

<plot.py>
{plot}
</plot.py>
<notes.txt>
{notes}
</notes.txt>"""

DESCRIBE = """plot.py produced these figures: {figures}.
For each figure, describe in detail what it shows (axes, runs compared, the main observation),
for someone who will write the paper from the notes without seeing the figures."""


def editable_files(idea_dir: IdeaDir, created: list[str] | tuple[str, ...] = ()) -> dict[str, Path]:
    """What a reply may edit while plotting: plot.py, the notes, and files the model created."""
    files = {"plot.py": idea_dir.code / "plot.py", "notes.txt": idea_dir.notes}
    files.update({name: idea_dir.code / name for name in created})
    return files


def new_file_policy(idea_dir: IdeaDir, created: list[str]) -> NewFilePolicy:
    """New files a reply may create: inside code/, bounded in number and size (see NewFilePolicy)."""
    return NewFilePolicy(root=idea_dir.code, created_before=frozenset(created))


def apply_plot_edits(reply: str, idea_dir: IdeaDir, created: list[str]) -> EditReport:
    report = apply_reply(reply, editable_files(idea_dir, created), new_files=new_file_policy(idea_dir, created))
    created.extend(n for n in report.created if n not in created)
    return report


@dataclass
class PlotSettings:
    max_fixes: int = 4
    limits: Any = None
    unsafe_no_sandbox: bool = False
    args: list[str] = field(default_factory=list)
    max_tokens: int | None = None


def list_figures(code_dir: Path, since: float = 0.0) -> list[str]:
    """Non-empty figure files at the top of `code_dir` written at or after `since`: regular files of at
    most FIGURE_MAX_BYTES (apparent size) whose names are UTF-8 (LaTeX and the record need them)."""
    found = []
    for name, kind in safe_io.safe_entries(code_dir):  # by lstat: a planted link is not a figure
        if kind != "file" or Path(name).suffix.lower() not in FIGURE_SUFFIXES or safe_io.printable(name) != name:
            continue
        st = safe_io.lstat(code_dir / name)
        if st is not None and 0 < st.st_size <= FIGURE_MAX_BYTES and st.st_mtime >= since:
            found.append(name)
    return found


def _runs_text(experiments: ExperimentsRecord) -> str:
    baseline = experiments.baseline.final_info if experiments.baseline else None
    lines = ["run_0: baseline -> " + summarize_final_info(baseline)]
    for run in experiments.runs:
        if run.ok:
            lines.append(f"run_{run.index}: {run.description[:200]!r} -> {summarize_final_info(run.final_info)}")
    return "\n".join(lines)


def make_plots(idea: Idea, idea_dir: IdeaDir, experiments: ExperimentsRecord, client: Any,
               system_prompt: str, settings: PlotSettings) -> PlotResult:
    """plot.py edited and run until it writes figures; a failure mid-way (a model call, the harness)
    keeps the attempts made so far in the stage's record."""
    result = PlotResult()
    with keep_record(lambda: result):
        return _plot_loop(idea, idea_dir, experiments, client, system_prompt, settings, result)


def _plot_loop(idea: Idea, idea_dir: IdeaDir, experiments: ExperimentsRecord, client: Any,
               system_prompt: str, settings: PlotSettings, result: PlotResult) -> PlotResult:
    code = idea_dir.code
    files = {"plot.py": code / "plot.py", "notes.txt": idea_dir.notes}
    command = " ".join(["python", "plot.py", *settings.args])
    limit = getattr(settings.limits, "wall_time_s", None)
    messages: list[dict[str, str]] = [{"role": "system", "content": system_prompt}]
    feedback = ""
    created: list[str] = []
    n = continuations = 0
    while n - continuations < settings.max_fixes + 1:
        n += 1
        prompt = PROMPT.format(
            title=idea.title, runs=_runs_text(experiments), command=command,
            limit=f"{limit:.0f} seconds" if limit else "the harness's limit", edit_help=EDIT_FORMAT_HELP,
            plot=clip(shown(files["plot.py"], MAX_FILE_BYTES), budget_chars(client, 0.3)),
            notes=clip(idea_dir.notes.read_text() if idea_dir.notes.exists() else "", budget_chars(client, 0.15),
                       keep="tail"))
        turn = messages + [{"role": "user", "content": f"{feedback}\n\n{prompt}".strip()}]
        resp = client.complete(turn, max_tokens=settings.max_tokens, purpose="plots")
        reply = resp.text
        messages = turn[:1] + [turn[-1], {"role": "assistant", "content": reply}][-2:]
        attempt = PlotAttempt(attempt=n)
        report = apply_plot_edits(reply, idea_dir, created)
        attempt.edits_applied, attempt.edit_blocks = report.changed, [b.model_dump() for b in report.blocks]
        if (report.truncated or getattr(resp, "finish_reason", None) == "length") and continuations < 3:
            continuations += 1  # cut off at the output limit: asked to go on, not charged to the fixes
            attempt.cut_off = True
            result.attempts.append(attempt)
            feedback = (report.feedback() or "Your reply was cut off at the output limit.") + \
                "\nNothing was run. Send the remaining edits, fewer blocks per reply."
            continue
        if report.refused:
            attempt.edit_error = report.feedback()
            result.attempts.append(attempt)
            feedback = f"Some edits were not applied, and nothing was run.\n{attempt.edit_error}\nFix the edit blocks."
            continue
        started = time.time() - 1.0  # mtime granularity
        res = run_command(["plot.py", *settings.args], code, settings.limits,
                          readonly=harness_files(code, ("plot.py",)) + run_dirs(code),
                          unsafe_no_sandbox=settings.unsafe_no_sandbox,
                          log_path=idea_dir.root / "logs" / f"plot_attempt_{n}.json")
        attempt.exit_code, attempt.timed_out, attempt.incidents = res.exit_code, res.timed_out, res.incidents
        attempt.stderr_tail = res.stderr_tail[-2000:]
        attempt.figures = list_figures(code, since=started)
        attempt.ok = res.ok and bool(attempt.figures)
        result.attempts.append(attempt)
        if attempt.ok:
            result.figures = attempt.figures
            break
        feedback = (failure_text(res, limit) if not res.ok else
                    "plot.py ran but wrote no figure (.png) in the current directory.") + "\nFix plot.py."
    if result.figures:
        result.figure_notes = describe_figures(client, system_prompt, idea_dir, result.figures, settings.max_tokens)
    return result


def describe_figures(client: Any, system_prompt: str, idea_dir: IdeaDir, figures: list[str],
                     max_tokens: int | None) -> dict[str, str]:
    """Ask for a description of each figure and append it to the notes; best effort."""
    notes = idea_dir.notes.read_text() if idea_dir.notes.exists() else ""
    messages = [{"role": "system", "content": system_prompt},
                {"role": "user", "content": f"<notes.txt>\n{clip(notes, budget_chars(client, 0.3), keep='tail')}\n"
                                            "</notes.txt>\n\n" + DESCRIBE.format(figures=", ".join(figures))}]
    try:
        described: FigureNotes = client.complete_structured(messages, FigureNotes, purpose="plots",
                                                            max_tokens=max_tokens)
        descriptions = {k: v for k, v in described.descriptions.items() if k in figures}
    except Exception:  # the figures exist either way; the write-up can still name them
        descriptions = {}
    with idea_dir.notes.open("a") as f:
        f.write("\n## Figures\n")
        for fig in figures:
            f.write(f"- {fig}: {descriptions.get(fig, '(no description)')}\n")
    return descriptions


def judge(result: PlotResult) -> tuple[str, str | None]:
    if result.figures:
        return "ok", None
    last = result.attempts[-1] if result.attempts else None
    why = (last.edit_error or last.stderr_tail[-500:] or "no figure written") if last else "no attempt"
    return "failed", f"no figure after {len(result.attempts)} attempt(s): {why}"
