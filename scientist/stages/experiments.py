"""The experiments stage: the model edits experiment.py, the harness runs it in the sandbox.

Each reply carries SEARCH/REPLACE edit blocks and ends with one ACTION line: RUN (apply the
edits, run the next experiment), STOP (experiments done) or ABANDON (the results say the idea
does not hold). Errors and time-outs go back to the model, at most `max_fixes` times per run.
"""
from __future__ import annotations

import fcntl
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scientist.edits import EDIT_FORMAT_HELP, MAX_FILE_BYTES, EditReport, NewFilePolicy, apply_reply
from scientist.execution import (
    CommandResult,
    copy_template_code,
    failure_text,
    harness_files,
    read_final_info,
    run_command,
    run_dirs,
)
from scientist import prompting
from scientist.prompting import budget_chars, clip, summarize_final_info
from scientist.records import ExperimentAttempt, ExperimentRun, ExperimentsRecord, Idea, RunResults
from scientist.rundir import IdeaDir, read_model, write_json, write_text
from scientist.sandbox import safe_io
from scientist.stage import keep_record

ACTION = re.compile(r"^[\s*#>`]*ACTION\s*:\s*\**\s*(RUN|STOP|ABANDON)\b", re.IGNORECASE | re.MULTILINE)
# an edit block with its file-name line and fences, so that none of them is left in the run notes
BLOCK = re.compile(r"^(?:[`*#]*[\w./\\-]+\.\w+[`*:]*[ \t]*\n)?(?:[ \t]*(?:```|~~~)[^\n]*\n)?[ \t]*<{5,9} ?SEARCH"
                   r".*?>{5,9} ?REPLACE[^\n]*(?:\n[ \t]*(?:```|~~~)[ \t]*$)?", re.DOTALL | re.MULTILINE)
CODE_MAX_BYTES = safe_io.DEFAULT_MAX_BYTES  # experiment.py as a run may leave it, to be kept and read back
HISTORY_TURNS = 3  # earlier exchanges kept verbatim; the run log summarizes the rest
CODE_FILES = ("experiment.py", "plot.py")  # what the model edits in code/ (plot.py too: real runs do)
MAX_CONTINUATIONS = 3  # cut-off replies asked to go on, per run: not charged to the fixes
# the AI Scientist's published stop word, and ours: a reply that is only this ends the experiments
STOP_WORDS = re.compile(r"^[\s*`#>]*(ALL[_ ]COMPLETED|ACTION\s*:\s*STOP)[\s*`.!]*$", re.IGNORECASE | re.MULTILINE)

PROTOCOL = """How this works:
- After each reply that ends with ACTION: RUN, the harness applies your edits and runs
  `{command}` in a sandbox, where i is the next run number. The harness runs this command and
  owns the time limit: a run is stopped after {limit}. Do not add command-line arguments, do
  not try to run anything yourself, and do not implement time limits or time-outs in the code.
- You may edit experiment.py, plot.py and notes.txt, and create new files (helper modules)
  next to experiment.py; nothing else.
- experiment.py must write its results to <out_dir>/final_info.json, as the baseline does.

{edit_help}

End every reply with exactly one of these lines (a reply that is only ALL_COMPLETED means STOP):
ACTION: RUN      (apply my edits and run the next experiment)
ACTION: STOP     (the experiments are complete, or further runs are not worth it: go on to the write-up)
ACTION: ABANDON  (the results show the idea does not work or cannot be tested here: no write-up;
                  say why just before this line)"""

TASK = """Your goal is to implement the following idea: {title}.
The proposed experiment: {experiment}

You have up to {max_runs} runs (run_1 .. run_{max_runs}); you do not need to use them all.
First plan the list of experiments, e.g. the values of a hyperparameter to sweep, one per run.
The baseline (run_0, the unmodified code) is already done; do not re-run it.
Baseline results: {baseline}"""

FILES = """Current files:
<experiment.py>
{code}
</experiment.py>
<plot.py>
{plot}
</plot.py>
{created}<notes.txt>
{notes}
</notes.txt>"""


def shown(path: Path) -> str:
    """A file for the prompt, read under the edit cap (the code folder is sandbox-writable)."""
    return prompting.shown(path, MAX_FILE_BYTES)


def editable_files(idea_dir: IdeaDir, created: list[str] | tuple[str, ...] = ()) -> dict[str, Path]:
    """What a reply may edit during the experiments: the code files, the notes, the files it created."""
    files = {name: idea_dir.code / name for name in CODE_FILES}
    files["notes.txt"] = idea_dir.notes
    files.update({name: idea_dir.code / name for name in created})
    return files


def new_file_policy(idea_dir: IdeaDir, created: list[str]) -> NewFilePolicy:
    """New files a reply may create: inside code/, bounded in number and size (see NewFilePolicy)."""
    return NewFilePolicy(root=idea_dir.code, created_before=frozenset(created))


def apply_experiment_edits(reply: str, idea_dir: IdeaDir, created: list[str]) -> EditReport:
    """The reply's edit blocks applied within the experiments' allow-list; new files it creates
    (inside code/, bounded) are added to `created`."""
    report = apply_reply(reply, editable_files(idea_dir, created), new_files=new_file_policy(idea_dir, created))
    created.extend(n for n in report.created if n not in created)
    return report


@dataclass
class ExperimentSettings:
    max_runs: int = 5
    max_fixes: int = 4
    limits: Any = None
    unsafe_no_sandbox: bool = False
    extra_args: list[str] = field(default_factory=list)
    max_tokens: int | None = None


def parse_action(reply: str) -> str:
    """run / stop / abandon from the last ACTION line; a reply with edits and no ACTION is a run."""
    found = ACTION.findall(reply)
    if found:
        return found[-1].lower()
    if STOP_WORDS.search(reply):
        return "stop"
    return "run" if re.search(r"^\s*<{5,9} ?SEARCH", reply, re.MULTILINE) else "invalid"


def prose(reply: str, limit: int = 600) -> str:
    """The reply without its edit blocks and ACTION line: the model's own account of the change."""
    text = ACTION.sub("", BLOCK.sub("", reply))
    text = re.sub(r"```\w*\s*```", "", text)
    return clip(re.sub(r"\n{3,}", "\n\n", text).strip(), limit)


def experiment_command(extra_args: list[str], run: int | str = "i") -> list[str]:
    return ["experiment.py", f"--out_dir=run_{run}", *extra_args]


def _limit_text(limits: Any) -> str:
    seconds = getattr(limits, "wall_time_s", None)
    return f"{seconds:.0f} seconds" if seconds else "the harness's time limit"


def run_baseline(template_path: Path, baseline_dir: Path, settings: ExperimentSettings) -> ExperimentRun:
    """run_0 of the unmodified template, once per run directory, shared by every idea (ideas run in
    parallel wait for the first one's baseline instead of racing it)."""
    baseline_dir.parent.mkdir(parents=True, exist_ok=True)
    with open(baseline_dir.parent / ".baseline.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _run_baseline(template_path, baseline_dir, settings)


def _run_baseline(template_path: Path, baseline_dir: Path, settings: ExperimentSettings) -> ExperimentRun:
    run0 = baseline_dir / "run_0"
    info = read_final_info(run0)
    if info is not None:
        return ExperimentRun(index=0, description="baseline", ok=True, final_info=info,
                             code_snapshot="baseline/experiment.py")
    copy_template_code(template_path, baseline_dir)
    res = run_command(experiment_command(settings.extra_args, 0), baseline_dir, settings.limits,
                      readonly=harness_files(baseline_dir, ()), unsafe_no_sandbox=settings.unsafe_no_sandbox,
                      log_path=baseline_dir / "sandbox_run_0.json")
    info = read_final_info(run0) if res.ok else None
    why = None if info else failure_text(res, getattr(settings.limits, "wall_time_s", None))
    attempt = _attempt(1, "run", [], res, info, why)
    return ExperimentRun(index=0, description="baseline", attempts=[attempt], ok=info is not None,
                         final_info=info, code_snapshot="baseline/experiment.py")


def record_results(idea_dir: IdeaDir, index: int, info: dict, stdout: str, code: str) -> None:
    """The harness's copy of what run `index` produced, in OUT/<idea>/results/ (outside the
    sandbox): the validity checks read only these, never files the experiment wrote."""
    write_json(idea_dir.root / "results" / f"run_{index}.json",
               RunResults(run=f"run_{index}", final_info=info, stdout=stdout, code=code))


def _attempt(n: int, action: str, changed: list[str], res: CommandResult | None,
             info: dict | None, error: str | None) -> ExperimentAttempt:
    if res is None:
        return ExperimentAttempt(attempt=n, action=action, edits_applied=changed, error=error)
    return ExperimentAttempt(
        attempt=n, action=action, edits_applied=changed, exit_code=res.exit_code,
        timed_out=res.timed_out, ok=info is not None, wall_time_s=res.wall_time_s,
        stdout_tail=res.stdout_tail[-2000:], stderr_tail=res.stderr_tail[-2000:],
        incidents=res.incidents, sandboxed=res.sandboxed, error=error,
    )


class ExperimentLoop:
    def __init__(self, idea: Idea, idea_dir: IdeaDir, client: Any, system_prompt: str,
                 baseline: ExperimentRun, settings: ExperimentSettings) -> None:
        self.idea, self.dir, self.client, self.settings = idea, idea_dir, client, settings
        self.created: list[str] = []  # new files the model made in code/ (editable from then on)
        self.files = editable_files(idea_dir)
        self._finish: str | None = None
        command = " ".join(["python", *experiment_command(settings.extra_args)])
        self.baseline_text = summarize_final_info(baseline.final_info)
        task = TASK.format(title=idea.title, experiment=idea.experiment, max_runs=settings.max_runs,
                           baseline=self.baseline_text)
        # the task sits in the system message so that the kept turns alternate user/assistant
        self.system = "\n\n".join(p for p in (system_prompt.strip(), task, PROTOCOL.format(
            command=command, limit=_limit_text(settings.limits), edit_help=EDIT_FORMAT_HELP)) if p)
        self.record = ExperimentsRecord(
            command=["python", *experiment_command(settings.extra_args)],
            time_limit_s=getattr(settings.limits, "wall_time_s", None), baseline=baseline)
        self.history: list[dict[str, str]] = []

    # ---- conversation ----------------------------------------------------------------------
    def _files_text(self) -> str:
        code = shown(self.files["experiment.py"])
        plot = shown(self.dir.code / "plot.py")
        notes = shown(self.dir.notes)
        created = "".join(f"<{n}>\n{clip(shown(self.dir.code / n), budget_chars(self.client, 0.05))}\n</{n}>\n"
                          for n in self.created)
        return FILES.format(code=clip(code, budget_chars(self.client, 0.3)),
                            plot=clip(plot, budget_chars(self.client, 0.1)), created=created,
                            notes=clip(notes, budget_chars(self.client, 0.1), keep="tail"))

    def _run_log(self) -> str:
        lines = []
        for run in self.record.runs:
            state = summarize_final_info(run.final_info) if run.ok else f"failed after {len(run.attempts)} attempt(s)"
            lines.append(f"run_{run.index}: {run.description[:150]!r} -> {state}")
        return "Runs so far:\n" + "\n".join(lines) if lines else "No runs yet."

    def _ask(self, feedback: str) -> str:
        user = f"{feedback}\n\n{self._run_log()}\n\n{self._files_text()}"
        messages = [{"role": "system", "content": self.system}, *self.history[-2 * HISTORY_TURNS:]]
        messages.append({"role": "user", "content": user})
        resp = self.client.complete(messages, max_tokens=self.settings.max_tokens, purpose="experiments")
        reply, self._finish = resp.text, getattr(resp, "finish_reason", None)
        self.history += [{"role": "user", "content": feedback}, {"role": "assistant", "content": reply}]
        return reply

    # ---- one run ---------------------------------------------------------------------------
    def _execute(self, index: int) -> tuple[CommandResult, dict | None]:
        run_dir = self.dir.run(index)
        safe_io.remove_path(run_dir)  # whatever an earlier attempt left there, a planted link included
        code = self.dir.code
        # earlier runs' results are read-only too: a run cannot rewrite the baseline it is compared with
        earlier = run_dirs(code, exclude=run_dir.name)
        ran = self._ran = safe_io.read_text_or(self.files["experiment.py"])
        self._problem: str | None = None
        res = run_command(experiment_command(self.settings.extra_args, index), code, self.settings.limits,
                          readonly=harness_files(code, ("experiment.py",)) + sorted(earlier),
                          unsafe_no_sandbox=self.settings.unsafe_no_sandbox,
                          log_path=self.dir.root / "logs" / f"run_{index}_attempt_{len(self._current.attempts) + 1}.json",
                          )
        self._pending = (len(self._current.attempts) + 1, res)  # a run happened: its record outlives any error
        try:
            self._problem = self._check_code_left(res, ran)
            info = read_final_info(run_dir) if res.ok and self._problem is None else None
            if info is not None:
                record_results(self.dir, index, info, res.stdout_tail, ran)
        except OSError as err:  # a file the run left that the harness refuses: the run failed, the stage goes on
            info, self._problem = None, f"The harness could not keep this run's results: {err}"
        if info is None:
            safe_io.remove_path(run_dir)  # a failed run leaves nothing the next attempt or plot.py could mistake
        return res, info

    def _check_code_left(self, res: CommandResult, ran: str) -> str | None:
        """The run may change experiment.py; one the harness would refuse to read back (over its cap,
        sparse sizes counted as they appear, or no longer a regular file) fails the run, and the code
        that ran is put back so that the next edit works on it."""
        path = self.files["experiment.py"]
        st = safe_io.lstat(path, root=self.dir.code)
        kind = safe_io.kind_of(st) if st is not None else "missing"
        if kind == "file" and st is not None and st.st_size <= CODE_MAX_BYTES:
            return None
        what = (f"{st.st_size / 2**20:.1f} MB, over the harness's {CODE_MAX_BYTES >> 20} MB cap"
                if kind == "file" and st is not None else f"no longer a regular file ({kind})")
        safe_io.remove_path(path, root=self.dir.code)
        safe_io.write_text(path, ran, root=self.dir.code)
        res.incidents.append({"kind": "file_cap", "detail": f"the run left experiment.py {what}: refused, restored",
                              "source": "harness", "fatal": True, "count": 1})
        return (f"The run left experiment.py {what}. The run is not kept, and experiment.py was restored to "
                "the code that ran; do not let the experiment rewrite its own code.")

    def partial_record(self) -> ExperimentsRecord:
        """The record when the harness failed mid-stage: the runs so far, the current run's attempts, and
        the run that had just finished, with its incidents (see scientist.stage.keep_record)."""
        current, pending = getattr(self, "_current", None), getattr(self, "_pending", None)
        if current is None:
            return self.record
        if pending is not None and pending[0] > len(current.attempts):
            attempt = _attempt(pending[0], "run", [], pending[1], None, "the harness failed after this run "
                               "(see the stage's error); the run is not kept")
            attempt.incidents = [*attempt.incidents, {"kind": "harness_error", "detail": "the harness failed "
                                 "after the run", "source": "harness", "fatal": True, "count": 1}]
            current.attempts.append(attempt)
        if current.attempts and all(r is not current for r in self.record.runs):
            self.record.runs.append(current)
        return self.record

    def _record_success(self, run: ExperimentRun, reply: str, info: dict) -> None:
        described = re.sub(r"^\s*run[ _]?\d+\s*[:.-]\s*", "", prose(reply), flags=re.IGNORECASE)
        snapshot = self.dir.run(run.index) / "experiment.py"
        # the code that ran, not what the run left; run_N was written by the run: a new file renamed over
        # the name, never a write through a planted link
        safe_io.write_text(snapshot, self._ran, root=self.dir.code)
        run.ok, run.final_info, run.description = True, info, described or run.description
        run.code_snapshot = str(snapshot.relative_to(self.dir.root))
        with self.dir.notes.open("a") as f:
            f.write(f"\n## Run {run.index}: {run.description}\nResults: {summarize_final_info(info)}\n")

    def _end(self, action: str, reply: str) -> ExperimentsRecord:
        """STOP or ABANDON: keep the notes the reply adds (code edits would no longer run)."""
        final = _attempt(len(self._current.attempts) + 1, action, [], None, None, None)
        report = apply_reply(reply, {"notes.txt": self.files["notes.txt"]})
        final.edits_applied, final.edit_blocks = report.changed, [b.model_dump() for b in report.blocks]
        if not report.ok:
            final.edit_error = report.feedback()
        self._current.attempts.append(final)
        if len(self._current.attempts) > 1:
            self.record.runs.append(self._current)
        self.record.stop_reason = "completed" if action == "stop" else "abandoned"
        if action == "abandon":
            self.record.abandon_reason = prose(reply, 1500) or "abandoned without a reason"
        return self.record

    def _attempt_run(self, index: int, action: str, reply: str) -> tuple[ExperimentAttempt, dict | None]:
        """Apply the reply's edits and run; the attempt's `error` is what goes back to the model."""
        n = len(self._current.attempts) + 1
        if action == "invalid" and self._finish == "length":
            attempt = _attempt(n, action, [], None, None, "Your reply was cut off at the output limit before any "
                               "edit block or ACTION line. Continue: send the edits, fewer blocks per reply, and end "
                               "with an ACTION line.")
            attempt.cut_off = True
            return attempt, None
        if action == "invalid":
            return _attempt(n, action, [], None, None, "Your reply had no edit blocks and no ACTION line. End "
                            "every reply with ACTION: RUN, ACTION: STOP or ACTION: ABANDON."), None
        report = apply_experiment_edits(reply, self.dir, self.created)
        self.files = editable_files(self.dir, self.created)
        changed, blocks = report.changed, [b.model_dump() for b in report.blocks]
        if report.truncated or self._finish == "length":
            # the model ran out of output tokens: ask for the rest; not the model's error to fix
            why = report.feedback() or "Your reply was cut off at the output limit."
            attempt = _attempt(n, action, changed, None, None, f"{why}\nNothing was run. Continue: send the "
                               "remaining edits (fewer blocks per reply) and end with an ACTION line.")
            attempt.edit_blocks, attempt.cut_off = blocks, True
            return attempt, None
        if report.refused:
            attempt = _attempt(n, action, changed, None, None, "Some edits were not applied, and nothing was run.\n"
                               + report.feedback())
            attempt.edit_error, attempt.edit_blocks = report.feedback(), blocks
            return attempt, None
        res, info = self._execute(index)
        error = None
        if info is None:
            error = (f"The run exited normally but wrote no valid run_{index}/final_info.json." if res.ok
                     else failure_text(res, getattr(self.settings.limits, "wall_time_s", None)))
            if self._problem:  # the harness refused what the run left: that is the reason
                error = self._problem if res.ok else f"{self._problem}\n{error}"
        attempt = _attempt(n, action, changed, res, info, error)
        attempt.edit_blocks = blocks
        return attempt, info

    def _success_feedback(self, index: int, attempt: ExperimentAttempt, info: dict) -> str:
        s = self.settings
        text = (f"Run {index} completed in {attempt.wall_time_s:.0f} s. Results: {summarize_final_info(info)}\n"
                f"Baseline: {self.baseline_text}\nThe harness appended these results to notes.txt; add there "
                f"what the write-up needs about run {index} (what changed, why, what the results mean). "
                "Decide whether to re-plan given the results.")
        if index < s.max_runs:
            text += (f" Then implement the next experiment (run_{index + 1}; {s.max_runs - index} run(s) left) "
                     "and end with ACTION: RUN, or end with ACTION: STOP or ACTION: ABANDON.")
        return text

    def resume_from(self, previous: ExperimentsRecord) -> bool:
        """Continue after the last completed run of an interrupted stage (a crash or kill -9):
        its runs are kept, experiment.py is restored from its snapshot. False: nothing to keep."""
        done = [r for r in previous.runs if r.ok and r.code_snapshot]
        if not done:
            return False
        last = done[-1]
        snapshot = self.dir.root / last.code_snapshot
        if not snapshot.is_file() or read_final_info(self.dir.run(last.index)) is None:
            return False
        self.record.runs = [r for r in previous.runs if r.index <= last.index]
        shutil.copy2(snapshot, self.files["experiment.py"])
        for stale in self.dir.code.glob("run_*"):  # a run cut off mid-way starts again
            if stale.is_dir() and stale.name.removeprefix("run_").isdigit() and int(stale.name[4:]) > last.index:
                shutil.rmtree(stale)
        self._start = (last.index + 1, (
            f"The harness was restarted after an interruption; runs up to run_{last.index} are kept "
            f"(see the run log). Implement the next experiment (run_{last.index + 1}) and end with "
            "ACTION: RUN, or end with ACTION: STOP or ACTION: ABANDON."))
        return True

    def _checkpoint(self) -> None:
        """experiments.json without a stage status: unfinished, but a restart resumes from it."""
        write_json(self.dir.experiments, self.record)

    def run(self) -> ExperimentsRecord:
        s = self.settings
        index, feedback = getattr(self, "_start", (1, "Plan your experiments, then implement the first one (run_1)."))
        fixes = continuations = 0
        self._current = ExperimentRun(index=index)
        while index <= s.max_runs:
            try:
                reply = self._ask(feedback)
            except Exception as err:  # provider gone, context exceeded: keep the runs made so far
                if self._current.attempts:
                    self.record.runs.append(self._current)
                self.record.stop_reason = "model_error"
                self.record.model_error = f"{type(err).__name__}: {err}"[:2000]
                return self.record
            action = parse_action(reply)
            if action in ("stop", "abandon"):
                return self._end(action, reply)
            attempt, info = self._attempt_run(index, action, reply)
            self._current.attempts.append(attempt)
            if info is not None:
                self._record_success(self._current, reply, info)
                self.record.runs.append(self._current)
                self._checkpoint()
                feedback = self._success_feedback(index, attempt, info)
                index, fixes, continuations = index + 1, 0, 0
                self._current = ExperimentRun(index=index)
                continue
            if attempt.cut_off and continuations < MAX_CONTINUATIONS:
                continuations += 1  # bounded, and not charged to the fixes: the record says cut_off
                feedback = attempt.error or ""
                continue
            fixes += 1
            if fixes > s.max_fixes:
                self.record.runs.append(self._current)
                self.record.stop_reason = "max_fixes"
                return self.record
            left = s.max_fixes - fixes + 1
            feedback = f"{attempt.error}\n\nFix this and try run_{index} again ({left} fix(es) left for this run)."
        self.record.stop_reason = "max_runs"
        return self.record


def init_notes(idea: Idea, baseline: ExperimentRun, path: Path) -> None:
    write_text(path, f"# Title: {idea.title}\n# Experiment description: {idea.experiment}\n"
                     f"## Run 0: Baseline\nResults: {summarize_final_info(baseline.final_info)}\n"
                     "Description: the unmodified template code.\n")


def perform_experiments(idea: Idea, idea_dir: IdeaDir, template_path: Path, baseline_dir: Path,
                        client: Any, system_prompt: str, settings: ExperimentSettings) -> ExperimentsRecord:
    """Fresh template copy in code/, baseline in run_0, then the model's runs."""
    baseline = run_baseline(template_path, baseline_dir, settings)
    command = ["python", *experiment_command(settings.extra_args)]
    if not baseline.ok:
        return ExperimentsRecord(command=command, baseline=baseline, stop_reason="no_baseline",
                                 time_limit_s=getattr(settings.limits, "wall_time_s", None))
    loop = ExperimentLoop(idea, idea_dir, client, system_prompt, baseline, settings)
    previous = read_model(idea_dir.experiments, ExperimentsRecord) if idea_dir.experiments.exists() else None
    if previous is not None and previous.stage is None and idea_dir.code.is_dir() and loop.resume_from(previous):
        with keep_record(loop.partial_record):  # a harness error keeps the runs and attempts so far
            return loop.run()  # an interrupted stage: continue after its last completed run
    copy_template_code(template_path, idea_dir.code)
    safe_io.copy_tree(baseline_dir / "run_0", idea_dir.run(0))  # regular files and directories only
    shutil.rmtree(idea_dir.root / "results", ignore_errors=True)  # fresh experiments, fresh evidence
    base_code = baseline_dir / "experiment.py"
    record_results(idea_dir, 0, baseline.final_info or {},
                   baseline.attempts[-1].stdout_tail if baseline.attempts else "",
                   base_code.read_text(errors="replace") if base_code.is_file() else "")
    init_notes(idea, baseline, idea_dir.notes)
    logs = idea_dir.root / "logs"
    if logs.exists():
        shutil.rmtree(logs)
    with keep_record(loop.partial_record):  # a harness error keeps the runs and attempts so far
        return loop.run()


def judge(record: ExperimentsRecord) -> tuple[str, str | None]:
    """Stage status from the record: abandoned, ok (at least one run), or failed and why."""
    if record.stop_reason == "abandoned":
        return "abandoned", record.abandon_reason
    if record.stop_reason == "no_baseline":
        attempt = record.baseline.attempts[-1] if record.baseline and record.baseline.attempts else None
        return "failed", "the baseline run failed: " + (attempt.error if attempt and attempt.error else "no results")
    if record.n_runs_ok == 0:
        last = next((a.error for r in reversed(record.runs) for a in reversed(r.attempts) if a.error), None)
        why = {"completed": "stopped before any successful run",
               "max_fixes": "no run succeeded within the fixes allowed",
               "model_error": f"the model call failed: {record.model_error}"}
        return "failed", why.get(record.stop_reason or "", "no successful run") + (f": {last[:500]}" if last else "")
    if record.stop_reason == "model_error":
        return "ok", f"kept {record.n_runs_ok} run(s); then the model call failed: {record.model_error}"
    if record.stop_reason == "max_fixes":
        return "ok", f"run_{record.runs[-1].index} failed after the fixes allowed; kept {record.n_runs_ok} run(s)"
    return "ok", None
