"""Replay a published AI-Scientist run's model replies through the pipeline's own edit path.

    python -m benchmark.perf.transcripts TRANSCRIPT_DIR --template TEMPLATE_DIR --json OUT

TRANSCRIPT_DIR holds one published run (`*_aider.txt`, `run_N.py`, the final `notes.txt`,
`plot.py`, `latex/template.tex`); TEMPLATE_DIR the template it started from. The transcript's
lines starting `#### ` are the prompts, lines starting `> ` Aider's own output (its record of
what it applied), the rest the model's replies. Each reply goes, in order, through the very
function the stage of its phase uses (experiments / plots / write-up: their allow-lists and the
one applier in scientist/edits), on an idea folder laid out as the pipeline lays it out,
starting from the template's files. Between replies the replay does only what the published
harness did to the files: it wrote notes.txt before the first prompt, and it appended the
citations a prompt announces to the bibliography inside template.tex.

Drift: when a prompt says run N completed, experiment.py must equal the published run_N.py (the
file as Aider had it when run N started); where it does not, the differing lines are recorded and
the published file is taken, so that later replies are judged against the file the model saw.
"""
from __future__ import annotations

import argparse
import difflib
import json
import re
import shutil
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from scientist.edits import EditReport, apply_blocks, parse_reply
from scientist.execution import copy_template_code
from scientist.rundir import IdeaDir
from scientist.stages import experiments, plots, writeup

PROMPT = re.compile(r"^#### (.*)  $")
AIDER = re.compile(r"^> ?(.*)  $")
TOKENS = re.compile(r"^(?:(\d+) prompt tokens, (\d+) completion tokens|Tokens: ([\d,.]+k?) sent, ([\d,.]+k?) received)")
APPLIED = re.compile(r"^Applied edit to (.+?)\s*$")
AIDER_FAILED = re.compile(r"SEARCH/REPLACE blocks? failed to match|did not conform to the edit format|"
                          r"Incomplete SEARCH/REPLACE block|^\^\^\^ Expected")
FAILED_COUNT = re.compile(r"^# (\d+) SEARCH/REPLACE blocks? failed to match")
OTHERS_APPLIED = re.compile(r"The other \d+ SEARCH/REPLACE blocks? (?:was|were) applied successfully")
RUN_DONE = re.compile(r"^Run (\d+) completed")


@dataclass
class Turn:
    kind: str  # prompt | reply | aider
    text: str
    line: int  # 1-based first line in the transcript


def read_transcript(path: Path) -> list[Turn]:
    """The transcript as alternating prompts, model replies and Aider output."""
    turns: list[Turn] = []
    for n, raw in enumerate(path.read_text(encoding="utf-8", errors="replace").split("\n"), 1):
        if raw.startswith("# aider chat started at"):
            kind, text = "header", raw
        elif m := PROMPT.match(raw):
            kind, text = "prompt", m.group(1)
        elif raw.startswith("> ") and raw.endswith("  ") or raw in (">", "> "):
            m = AIDER.match(raw)
            kind, text = "aider", m.group(1) if m else ""
        else:
            kind, text = "reply", raw
        if turns and turns[-1].kind == kind:
            turns[-1].text += "\n" + text
        else:
            turns.append(Turn(kind, text, n))
    return [t for t in turns if t.kind != "header"]


def phase_of(prompt: str, current: str) -> str:
    if "implement the following idea" in prompt:
        return "experiments"
    if "modify `plot.py`" in prompt or prompt.startswith("Plotting failed") or "modify `notes.txt` with a description" in prompt:
        return "plots"
    if "latex/template.tex" in prompt and "filling it in" in prompt or "LaTeX errors" in prompt:
        return "writeup"
    return current


def ai_scientist_notes(first_prompt: str) -> str:
    """notes.txt as the AI Scientist's launcher wrote it before the first prompt (title, experiment,
    baseline results), rebuilt from that prompt, which quotes all three."""
    title = re.search(r"implement the following idea: (.*?)\.?\n", first_prompt)
    exp = re.search(r"The proposed experiment is as follows: (.*?)\.?\nYou are given", first_prompt, re.DOTALL)
    base = re.search(r"baseline results are as follows:\s*\n\s*\n?(.*?)\n", first_prompt)
    if not (title and exp and base):
        return ""
    return (f"# Title: {title.group(1)}\n# Experiment description: {exp.group(1)}\n## Run 0: Baseline\n"
            f"Results: {base.group(1)}\nDescription: Baseline results.\n")


def announced_citations(prompt: str) -> str | None:
    """The BibTeX a citation prompt says was just added (between its first pair of \"\"\")."""
    if "citations have just been added" not in prompt:
        return None
    parts = prompt.split('"""')
    return parts[1] if len(parts) > 2 else None


@dataclass
class Workspace:
    """One idea folder as the pipeline lays it out: code/, notes.txt, paper/."""

    idea: IdeaDir
    created: list[str] = field(default_factory=list)

    @classmethod
    def start(cls, root: Path, template: Path, notes: str) -> "Workspace":
        idea = IdeaDir(root)
        root.mkdir(parents=True, exist_ok=True)
        copy_template_code(template, idea.code)
        idea.notes.write_text(notes)
        writeup.prepare_paper_dir(template, idea, [])
        return cls(idea)

    def apply(self, phase: str, reply: str) -> EditReport:
        """The reply through the stage's own entry point."""
        appliers: dict[str, Callable[[], EditReport]] = {
            "experiments": lambda: experiments.apply_experiment_edits(reply, self.idea, self.created),
            "plots": lambda: plots.apply_plot_edits(reply, self.idea, self.created),
            "writeup": lambda: writeup.apply_paper_edits(reply, self.idea.paper),
        }
        return appliers[phase]()

    def apply_only(self, phase: str, reply: str, skip: set[int]) -> None:
        """The reply's blocks but `skip`, with the same stage's allow-list and the same applier."""
        blocks = [b for b in parse_reply(reply).blocks if b.index not in skip]
        if phase == "writeup":
            apply_blocks(blocks, writeup.editable_files(self.idea.paper))
            return
        stage = experiments if phase == "experiments" else plots
        report = apply_blocks(blocks, stage.editable_files(self.idea, self.created),
                              new_files=stage.new_file_policy(self.idea, self.created))
        self.created.extend(n for n in report.created if n not in self.created)

    def snapshot(self) -> tuple[dict[Path, bytes], list[str]]:
        files = {p: p.read_bytes() for p in self.idea.root.rglob("*") if p.is_file() and not p.is_symlink()}
        return files, list(self.created)

    def restore(self, snap: tuple[dict[Path, bytes], list[str]]) -> None:
        files, created = snap
        for p in [p for p in self.idea.root.rglob("*") if p.is_file() and p not in files]:
            p.unlink()
        for p, data in files.items():
            if not p.exists() or p.read_bytes() != data:
                p.write_bytes(data)
        self.created[:] = created

    @property
    def tex(self) -> Path:
        return self.idea.paper / f"{writeup.MAIN}.tex"


def _diff(ours: str, theirs: str, limit: int = 12) -> list[str]:
    lines = [ln.rstrip("\n") for ln in difflib.unified_diff(theirs.splitlines(), ours.splitlines(), "published",
                                                             "replayed", n=0, lineterm="")]
    lines = [ln for ln in lines if not ln.startswith(("---", "+++"))]
    return lines[:limit] + ([f"... {len(lines) - limit} more"] if len(lines) > limit else [])


def _count(text: str) -> int:
    """Aider's token counts: 4093, 13,708 or 4.1k."""
    text = text.replace(",", "")
    return int(float(text[:-1]) * 1000) if text.endswith("k") else int(float(text))


def _squash(text: str) -> str:
    return "\n".join(ln.strip() for ln in text.splitlines() if ln.strip())


def _aider_record(text: str, reply: str) -> dict[str, Any]:
    """What Aider did with a reply, by its own output: the files it wrote, whether it failed, and
    which of the reply's blocks it failed (it echoes each failed block after the failure line)."""
    applied = sorted({m.group(1) for ln in text.splitlines() if (m := APPLIED.match(ln.strip()))})
    failed = bool(AIDER_FAILED.search(text))
    blocks = parse_reply(reply).blocks
    if OTHERS_APPLIED.search(text):  # a partial failure: Aider wrote the others without "Applied edit" lines
        applied = applied or sorted({b.path for b in blocks})
    if not applied:  # nothing written: a parse failure, or every block failed
        return {"applied": [], "failed": failed, "failed_blocks": {b.index for b in blocks}}
    # each echoed failure is one block; of identical blocks Aider applied the first, failed the later ones
    echoed = Counter(_squash(b.search) for b in parse_reply(text).blocks) if failed else Counter()
    failed_blocks: set[int] = set()
    for b in reversed(blocks):
        if echoed[_squash(b.search)] > 0:
            echoed[_squash(b.search)] -= 1
            failed_blocks.add(b.index)
    return {"applied": applied, "failed": failed, "failed_blocks": failed_blocks}


def replay(transcript_dir: Path, template: Path, work: Path | None = None, output_limit: int = 4096) -> dict[str, Any]:
    transcripts = sorted(transcript_dir.glob("*_aider.txt"))
    if len(transcripts) != 1:
        raise FileNotFoundError(f"{transcript_dir}: expected one *_aider.txt, found {len(transcripts)}")
    turns = read_transcript(transcripts[0])
    first = next((t.text for t in turns if t.kind == "prompt"), "")
    own_tmp = work is None
    work = Path(tempfile.mkdtemp(prefix="replay_")) if work is None else work
    try:
        ws = Workspace.start(work / "idea", template, ai_scientist_notes(first))
        return _replay(turns, ws, transcript_dir, output_limit)
    finally:
        if own_tmp:
            shutil.rmtree(work, ignore_errors=True)


def _replay(turns: list[Turn], ws: Workspace, transcript_dir: Path, output_limit: int) -> dict[str, Any]:
    out: dict[str, Any] = {"transcript": transcript_dir.name, "replies": 0, "blocks": 0, "applied": 0,
                           "refused": 0, "unchanged": 0, "aider_blocks_applied": 0, "aider_applied_replies": 0,
                           "aider_applied_replies_refused": 0, "aider_applied_blocks_refused": 0,
                           "truncated_replies": 0, "replies_at_output_limit": 0,
                           "name_inferred_blocks": 0}
    causes: Counter = Counter()
    examples: dict[str, dict[str, Any]] = {}
    how: Counter = Counter()
    by_phase: Counter = Counter()
    refused_replies: list[dict[str, Any]] = []
    refused_blocks: list[dict[str, Any]] = []  # blocks Aider applied (by its record) that were refused here
    drift: list[dict[str, Any]] = []
    phase, completion_tokens = "experiments", 0
    for k, turn in enumerate(turns):
        if turn.kind == "prompt":
            phase = phase_of(turn.text, phase)
            bib = announced_citations(turn.text)
            if bib is not None and ws.tex.exists():  # what the published harness did before this prompt
                ws.tex.write_text(ws.tex.read_text().replace(r"\end{filecontents}", bib + r"\end{filecontents}"))
            if m := RUN_DONE.match(turn.text):
                drift += _sync_run(ws, transcript_dir, int(m.group(1)), turn.line)
            continue
        if turn.kind == "aider":
            m = next((TOKENS.match(ln.strip()) for ln in turn.text.splitlines() if TOKENS.match(ln.strip())), None)
            completion_tokens = _count(m.group(2) or m.group(4)) if m else 0
            continue
        reply = turn.text + "\n"
        aider_text = turns[k + 1].text if k + 1 < len(turns) and turns[k + 1].kind == "aider" else ""
        snap = ws.snapshot()
        report = ws.apply(phase, reply)
        if not report.blocks and not report.truncated:
            continue
        record = _aider_record(aider_text, reply)
        ours = {b.index for b in report.blocks if b.status == "applied"}
        if ours & record["failed_blocks"]:
            # the model's next turn answers Aider's failure: keep the files as Aider had them
            ws.restore(snap)
            ws.apply_only(phase, reply, record["failed_blocks"])
        n = len(report.blocks)
        out["replies"] += 1
        out["blocks"] += n
        out["applied"] += len(report.applied)
        out["refused"] += len(report.refused)
        out["unchanged"] += sum(1 for b in report.blocks if b.status == "unchanged")
        out["truncated_replies"] += int(report.truncated)
        # a reply that used (nearly) all its output tokens stopped at the limit, inside a block or not
        out["replies_at_output_limit"] += int(completion_tokens >= output_limit - 8)
        out["name_inferred_blocks"] += sum(1 for b in report.blocks if b.name_inferred)
        by_phase[phase] += n
        out["aider_blocks_applied"] += n - len(record["failed_blocks"])
        for b in report.blocks:
            how[b.how or b.cause] += 1
        aider_wrote = bool(record["applied"])
        for b in report.refused:
            if aider_wrote and b.index not in record["failed_blocks"]:  # Aider applied this very block
                out["aider_applied_blocks_refused"] += 1
                refused_blocks.append({"line": turn.line, "block": b.index, "path": b.path, "cause": b.cause,
                                       "message": b.message[:300]})
            causes[b.cause] += 1
            examples.setdefault(b.cause, {"line": turn.line, "phase": phase, "block": b.index, "path": b.path,
                                          "message": b.message[:600]})
        full = bool(record["applied"]) and not record["failed"]
        out["aider_applied_replies"] += int(full)
        if full and (report.refused or report.truncated):
            detail = {"line": turn.line, "phase": phase, "completion_tokens": completion_tokens,
                      "refused": [{"block": b.index, "path": b.path, "cause": b.cause, "message": b.message[:400]}
                                  for b in report.refused], "truncated": report.truncated}
            missing = _missing_lines(ws, phase, reply, report, snap)
            if missing and not report.truncated:
                detail["lines_not_in_our_file"] = missing
                drift.append({"file": report.refused[0].path, "at": f"reply at transcript line {turn.line}",
                              "lines": missing})
            else:
                out["aider_applied_replies_refused"] += 1
            refused_replies.append(detail)
    out["refusals_by_cause"] = {c: {"count": n, "example": examples[c]} for c, n in causes.most_common()}
    out["outcomes"] = dict(how.most_common())
    out["blocks_by_phase"] = dict(by_phase)
    out["aider_applied_replies_refused_detail"] = refused_replies
    out["aider_applied_blocks_refused_detail"] = refused_blocks
    out["drift"] = drift
    out["created_files"] = list(ws.created)
    out["final_files"] = _final_compare(ws, transcript_dir)
    return out


def _missing_lines(ws: Workspace, phase: str, reply: str, report: EditReport,
                   snap: tuple[dict[Path, bytes], list[str]]) -> list[str]:
    """SEARCH lines of the refused blocks that our file (as it was before the reply) does not hold
    at all, whitespace aside: the model quoted a file that differs from ours (drift). Empty when
    every line is there and only our matcher failed to place them."""
    files = {**(writeup.editable_files(ws.idea.paper) if phase == "writeup" else
                (experiments if phase == "experiments" else plots).editable_files(ws.idea, ws.created))}
    refused = {b.index for b in report.refused}
    missing: list[str] = []
    for block in parse_reply(reply).blocks:
        if block.index not in refused or block.problem:
            continue
        path = files.get(block.path) or files.get(block.path.removeprefix("./"))
        data = snap[0].get(path) if path else None
        ours = [ln.strip() for ln in (data or b"").decode(errors="replace").splitlines()]
        wanted = [ln.strip() for ln in block.search.splitlines() if ln.strip()]
        absent = [f"-model: {ln}" for ln in wanted if ln not in set(ours)]
        missing += absent or [f"+ours: {ln}" for ln in _extra_lines(ours, wanted)]
    return missing[:12]


def _extra_lines(ours: list[str], wanted: list[str]) -> list[str]:
    """Lines our file has inside the span the model quoted (its lines in order, with ours between)."""
    for start in (k for k, ln in enumerate(ours) if wanted and ln == wanted[0]):
        k, extra = start, []
        for w in wanted:
            while k < len(ours) and ours[k] != w and len(extra) <= len(wanted):
                if ours[k]:
                    extra.append(ours[k])
                k += 1
            if k >= len(ours) or len(extra) > len(wanted):
                break
            k += 1
        else:
            if extra:
                return extra
    return []


def _sync_run(ws: Workspace, transcript_dir: Path, run: int, line: int) -> list[dict[str, Any]]:
    """experiment.py against the published run_N.py; on a difference, record it and take theirs."""
    published = transcript_dir / f"run_{run}.py"
    ours = ws.idea.code / "experiment.py"
    if not published.is_file():
        return []
    theirs = published.read_text(errors="replace")
    mine = ours.read_text(errors="replace") if ours.exists() else ""
    if mine == theirs:
        return []
    ours.write_text(theirs)
    return [{"file": "experiment.py", "at": f"run_{run} (transcript line {line})", "lines": _diff(mine, theirs)}]


def _final_compare(ws: Workspace, transcript_dir: Path) -> dict[str, Any]:
    """Each file at the end of the replay against the published one: equal, or the differing lines."""
    pairs = {"experiment.py": (ws.idea.code / "experiment.py", transcript_dir / "experiment.py"),
             "plot.py": (ws.idea.code / "plot.py", transcript_dir / "plot.py"),
             "notes.txt": (ws.idea.notes, transcript_dir / "notes.txt"),
             "latex/template.tex": (ws.tex, transcript_dir / "latex" / "template.tex")}
    result = {}
    for name, (mine, theirs) in pairs.items():
        if not theirs.is_file() or not mine.is_file():
            continue
        a, b = mine.read_text(errors="replace"), theirs.read_text(errors="replace")
        result[name] = "equal" if a == b else {"differing_lines": _diff(a, b, limit=8)}
    return result


TABLE_KEYS = ("replies", "blocks", "applied", "refused", "unchanged", "aider_blocks_applied",
              "aider_applied_replies", "aider_applied_replies_refused", "truncated_replies",
              "replies_at_output_limit")


def print_table(rows: list[dict[str, Any]]) -> None:
    width = max(len(r["transcript"]) for r in rows)
    short = {"aider_blocks_applied": "aider_blk", "aider_applied_replies": "aider_full",
             "aider_applied_replies_refused": "aider_full_refused", "truncated_replies": "cut_off",
             "replies_at_output_limit": "at_limit"}
    head = [short.get(k, k) for k in TABLE_KEYS]
    print(f"{'transcript':<{width}}  " + "  ".join(f"{h:>{max(len(h), 5)}}" for h in head))
    for r in rows:
        print(f"{r['transcript']:<{width}}  " + "  ".join(f"{r[k]:>{max(len(h), 5)}}" for k, h in zip(TABLE_KEYS, head)))
        for cause, v in r.get("refusals_by_cause", {}).items():
            ex = v["example"]
            print(f"    refused {cause}: {v['count']} (e.g. line {ex['line']}, {ex['path']}: {ex['message'][:100]!r})")
        for d in r.get("drift", []):
            print(f"    drift {d['file']} at {d['at']}: {len(d['lines'])} differing line(s)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("transcript_dirs", nargs="+", type=Path, help="published run folder(s) with a *_aider.txt")
    ap.add_argument("--template", type=Path, action="append", required=True,
                    help="the template folder each run started from (once, or once per run)")
    ap.add_argument("--output-limit", type=int, default=4096,
                    help="the models' output limit in tokens, to count replies that reached it (4096 for these runs)")
    ap.add_argument("--json", type=Path, help="write the figures here (one object, or a list with a 'total')")
    args = ap.parse_args(argv)
    templates = args.template * len(args.transcript_dirs) if len(args.template) == 1 else args.template
    if len(templates) != len(args.transcript_dirs):
        print("error: give --template once, or once per transcript folder", file=sys.stderr)
        return 2
    for d in [*args.transcript_dirs, *templates]:
        if not d.is_dir():
            print(f"error: {d} is not a folder", file=sys.stderr)
            return 2
    try:
        rows = [replay(d, t, output_limit=args.output_limit) for d, t in zip(args.transcript_dirs, templates)]
    except FileNotFoundError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    total = {k: sum(r[k] for r in rows) for k in TABLE_KEYS} | {"transcript": "total"}
    total["refusals_by_cause"] = {}
    for r in rows:
        for c, v in r["refusals_by_cause"].items():
            total["refusals_by_cause"].setdefault(c, {"count": 0, "example": v["example"]})["count"] += v["count"]
    print_table(rows + ([total] if len(rows) > 1 else []))
    if args.json:
        args.json.write_text(json.dumps(rows[0] if len(rows) == 1 else {"runs": rows, "total": total}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
