"""SEARCH/REPLACE edit blocks, as real models write them: parse (parse.py), locate (match.py),
apply block by block within an allow-list (apply.py), and report each outcome (report.py).

The stages call `apply_reply(reply, files, new_files=...)` and keep its `EditReport`; the
transcript replay (benchmark/perf/transcripts.py) calls the very same function.
"""
from __future__ import annotations

from pathlib import Path

from scientist.edits.apply import MAX_FILE_BYTES, NewFilePolicy, apply_blocks, apply_reply
from scientist.edits.parse import EditBlock, ParsedReply, parse_reply
from scientist.edits.report import CAUSES, BlockOutcome, EditReport

__all__ = ["CAUSES", "EDIT_FORMAT_HELP", "MAX_FILE_BYTES", "BlockOutcome", "EditBlock", "EditError", "EditReport",
           "NewFilePolicy", "ParsedReply", "apply_blocks", "apply_edits", "apply_reply", "parse_edit_blocks",
           "parse_reply"]


class EditError(ValueError):
    """An edit that was not applied; the message is written for the model."""


def parse_edit_blocks(text: str) -> list[EditBlock]:
    """The complete, well-formed blocks of a reply; EditError names every one that is not."""
    parsed = parse_reply(text)
    bad = [f"edit block {b.index} ({b.path}): {b.problem}" for b in parsed.blocks if b.problem]
    if parsed.truncated:
        bad.append(f"edit block {len(parsed.blocks) + 1}: not closed with '>>>>>>> REPLACE' (the reply was cut off)")
    if bad:
        raise EditError("; ".join(bad))
    return parsed.blocks


def apply_edits(text: str, files: dict[str, Path], *, new_files: NewFilePolicy | None = None) -> list[str]:
    """Apply the blocks that match and return the files changed; EditError (after the good blocks
    were applied) names each block that was not."""
    report = apply_reply(text, files, new_files=new_files)
    if not report.ok:
        raise EditError(report.feedback())
    return report.changed


EDIT_FORMAT_HELP = """To change a file, write one or more SEARCH/REPLACE blocks, each after a line with the file name:

experiment.py
<<<<<<< SEARCH
exact lines copied from the current file
=======
the lines that replace them
>>>>>>> REPLACE

The SEARCH part must match the current file exactly (indentation included) and occur only once.
Keep blocks small: a few lines of context around each change. Each block is applied on its own:
a block that does not match is reported back to you, the others are kept."""
