"""Applying a reply's edit blocks to the files a stage allows, block by block.

Each block stands on its own: the ones that match are applied, each one that does not is
reported with why (and the nearest lines of the file), without discarding the rest. What may be
touched is the caller's allow-list (`files`: name -> path; several names may be aliases of one
file), plus, where the caller passes a `NewFilePolicy`, new files inside the idea's code folder
(bounded count and size, never a harness path, a run result or a hidden name).

Editable files live in folders a sandboxed run could write to: they are read through
`scientist.sandbox.safe_io` under a size cap, after an lstat of their apparent size, so a planted
link, FIFO or multi-gigabyte sparse file is refused with a reason and never read whole; the
result is written back only when it fits the same cap.
"""
from __future__ import annotations

import errno
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from scientist.edits.match import Match, NoMatch, locate, replace_elided
from scientist.edits.parse import EditBlock, parse_reply
from scientist.edits.report import BlockOutcome, EditReport
from scientist.sandbox import safe_io

MAX_FILE_BYTES = 2 * 1024 * 1024  # an editable file above this is refused, never read whole
RUN_DIR = re.compile(r"^run_\d+$")


@dataclass(frozen=True)
class NewFilePolicy:
    """Where and how a reply may create files that are not in the allow-list."""

    root: Path  # the idea's code folder
    max_files: int = 8
    max_bytes: int = 256 * 1024
    suffixes: tuple[str, ...] = (".py", ".txt", ".md", ".json", ".csv", ".yaml", ".yml", ".cfg", ".tsv")
    created_before: frozenset[str] = field(default_factory=frozenset)  # by earlier replies of this idea

    def refusal(self, name: str, made_now: int) -> str | None:
        """Why `name` may not be created, or None."""
        pure = PurePosixPath(name)
        if pure.is_absolute() or not pure.parts or len(pure.parts) > 3:
            return "new files go inside the code folder, at most two folders deep"
        if any(p in ("..", "__pycache__", "results") or p.startswith(".") or RUN_DIR.match(p) for p in pure.parts):
            return "new files may not be hidden, nor inside run_N result folders or the harness's folders"
        if pure.suffix.lower() not in self.suffixes:
            return f"new files must end in one of {', '.join(self.suffixes)}"
        try:
            exists = safe_io.lstat(self.root / name, root=self.root) is not None
        except OSError:  # a planted link or a file on the way: never followed
            return "a folder on its path is a link or not a folder"
        if exists:
            return "a file of that name already exists and is part of the harness (read-only)"
        if len(self.created_before) + made_now >= self.max_files:
            return f"at most {self.max_files} new files per idea"
        return None


def _normal(name: str) -> str:
    return str(PurePosixPath(name.strip().replace("\\", "/"))).removeprefix("./")


class _Refused(Exception):
    def __init__(self, cause: str, message: str) -> None:
        super().__init__(message)
        self.cause = cause


def _read_capped(path: Path, max_bytes: int) -> str:
    """The text of an editable file, or _Refused: checked by lstat before any byte is read."""
    try:
        st = safe_io.lstat(path)
    except OSError as err:
        raise _Refused("unreadable", f"the file cannot be opened ({err.strerror or err})") from None
    if st is None:
        return ""
    if stat.S_ISLNK(st.st_mode):
        raise _Refused("unreadable", "the file is a link; it may not be edited")
    if not stat.S_ISREG(st.st_mode):
        raise _Refused("unreadable", f"the file is not a regular file ({safe_io.kind_of(st)})")
    if st.st_size > max_bytes:
        raise _Refused("too_large", f"the file is {st.st_size} bytes, over the {max_bytes}-byte limit for "
                                    "editing: it was not read, and cannot be changed by edit blocks")
    try:
        data = safe_io.read_bytes(path, max_bytes=max_bytes)
    except OSError as err:
        cause = "too_large" if getattr(err, "errno", None) == errno.EFBIG else "unreadable"
        raise _Refused(cause, f"the file could not be read: {err.strerror or err}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise _Refused("unreadable", "the file is not UTF-8 text; it cannot be edited by SEARCH/REPLACE") from None


class _Buffers:
    """The content of every file touched by a reply, by real path (aliases share one buffer)."""

    def __init__(self, files: dict[str, Path], new_files: NewFilePolicy | None, max_bytes: int) -> None:
        self.files = {_normal(k): v for k, v in files.items()}
        self.new_files, self.max_bytes = new_files, max_bytes
        self.text: dict[Path, str] = {}
        self.original: dict[Path, str | None] = {}
        self.names: dict[Path, str] = {}
        self.created: list[str] = []

    def resolve(self, block: EditBlock) -> tuple[Path, bool]:
        """The real path of the block's file, and whether it is new."""
        name = _normal(block.path)
        if name in self.files:
            return self.files[name], False
        allowed = ", ".join(sorted(self.files))
        new = self.new_files
        if new is None:
            raise _Refused("not_allowed", f"'{block.path}' may not be edited: only {allowed} can be changed. The "
                                          "harness, the run results and every other file are read-only.")
        if name in self.created:
            return new.root / name, False
        why = new.refusal(name, len(self.created))
        if why:
            if "harness" in why or "hidden" in why or "link" in why:
                raise _Refused("not_allowed", f"'{block.path}' may not be edited: only {allowed} can be changed, "
                                              f"and new files created next to them ({why}).")
            raise _Refused("new_file_refused", f"'{block.path}' is not one of the editable files ({allowed}) and "
                                               f"cannot be created: {why}")
        if block.search.strip():
            raise _Refused("no_match", f"'{block.path}' does not exist; to create it, use an empty SEARCH part")
        if len(block.replace.encode()) > new.max_bytes:
            raise _Refused("new_file_refused", f"a new file may hold at most {new.max_bytes} bytes")
        return new.root / name, True

    def load(self, path: Path, name: str) -> str:
        if path not in self.text:
            content = _read_capped(path, self.max_bytes)
            self.text[path], self.original[path], self.names[path] = content, content, name
        return self.text[path]


def _present(content: str, text: str) -> bool:
    """Whether `text` is already in `content` (as the matcher would find it): a block sent again
    after it was applied, which needs nothing done."""
    try:
        locate(content, text, text)
        return True
    except NoMatch as err:
        return err.cause == "ambiguous"


def _apply_one(block: EditBlock, buffers: _Buffers) -> BlockOutcome:
    base = dict(index=block.index, path=block.path, name_inferred=block.name_inferred)
    if block.problem:
        cause = "no_file_name" if block.path == "?" else "malformed"
        return BlockOutcome(**base, status="refused", cause=cause, message=block.problem, note=block.note)
    try:
        path, new = buffers.resolve(block)
        if new:
            name = _normal(block.path)
            buffers.text[path], buffers.original[path], buffers.names[path] = block.replace, None, name
            buffers.created.append(name)
            return BlockOutcome(**base, status="applied", how="new_file", note=block.note)
        content = buffers.load(path, _normal(block.path))
    except _Refused as err:
        return BlockOutcome(**base, status="refused", cause=err.cause, message=str(err), note=block.note)
    if not block.search.strip():
        if not content.strip():
            buffers.text[path] = block.replace
            return BlockOutcome(**base, status="applied", how="new_file" if not content else "exact", note=block.note)
        sep = "" if content.endswith("\n") or not block.replace else "\n"
        buffers.text[path] = content + sep + block.replace  # Aider's reading of an empty SEARCH
        return BlockOutcome(**base, status="applied", how="appended",
                            note=(block.note + "; " if block.note else "") + "empty SEARCH: appended to the file")
    how, note = "", ""
    try:
        match: Match = locate(content, block.search, block.replace)
        new_text, how, note = content[:match.start] + match.replace + content[match.end:], match.how, match.note
    except NoMatch as err:
        if block.replace.strip() and _present(content, block.replace):
            return BlockOutcome(**base, status="unchanged", how="already_present",
                                message="the REPLACE text is already in the file: nothing to do", note=block.note)
        found = _elided(content, block) if err.cause == "no_match" else None
        if found is None and err.cause == "no_match":
            elsewhere = _in_another_file(block, path, buffers)
            if elsewhere is not None:
                path, new_text, how, note = elsewhere
                content = buffers.text[path]
                found = new_text
        if found is None:
            return BlockOutcome(**base, status="refused", cause=err.cause, message=str(err), note=block.note)
        new_text, how = found, how or "elided"
        note = note or "'...' lines in SEARCH and REPLACE: each piece between them matched once"
    if len(new_text.encode()) > buffers.max_bytes:
        return BlockOutcome(**base, status="refused", cause="too_large",
                            message=f"the edited file would exceed {buffers.max_bytes} bytes", note=block.note)
    buffers.text[path] = new_text
    note = "; ".join(n for n in (block.note, note) if n)
    return BlockOutcome(**base, status="applied", how=how, note=note)


def _elided(content: str, block: EditBlock) -> str | None:
    try:
        return replace_elided(content, block.search, block.replace)
    except NoMatch:
        return None


def _in_another_file(block: EditBlock, named: Path, buffers: _Buffers) -> tuple[Path, str, str, str] | None:
    """Aider's fallback: a block whose SEARCH is not in the named file is applied to the one other
    editable file that holds it (exactly once), and the outcome says so."""
    hits = []
    for path in dict.fromkeys(p for p in buffers.files.values() if p != named):
        try:
            content = buffers.load(path, next(k for k, v in buffers.files.items() if v == path))
            match = locate(content, block.search, block.replace)
        except (_Refused, NoMatch):
            continue
        if match.how in ("exact", "reindented", "trailing_whitespace", "within_line", "end_of_file"):
            hits.append((path, content[:match.start] + match.replace + content[match.end:], match.how))
    if len(hits) != 1:
        return None
    path, text, how = hits[0]
    return path, text, how, f"the SEARCH text is not in {block.path} but in {buffers.names[path]}: applied there"


def apply_blocks(blocks: list[EditBlock], files: dict[str, Path], *, new_files: NewFilePolicy | None = None,
                 max_bytes: int = MAX_FILE_BYTES) -> EditReport:
    """Apply every block that matches; report each one. Files are written once, at the end."""
    buffers = _Buffers(files, new_files, max_bytes)
    report = EditReport(blocks=[_apply_one(b, buffers) for b in blocks])
    for path, text in buffers.text.items():
        if text == buffers.original[path]:
            continue
        try:
            if new_files is not None and buffers.names[path] in buffers.created:
                safe_io.write_text(path, text, root=new_files.root)  # no link in the new path is followed
            else:
                safe_io.write_text(path, text)
        except OSError as err:  # a planted link on the way, a full disk: those blocks did not land
            name = buffers.names[path]
            if name in buffers.created:
                buffers.created.remove(name)
            for b in report.blocks:
                if b.status == "applied" and _normal(b.path) in _names_of(path, buffers):
                    b.status, b.cause, b.message = "refused", "unreadable", f"the file could not be written: {err}"
            continue
        report.changed.append(buffers.names[path])
    report.created = [n for n in buffers.created if n in report.changed]
    return report


def _names_of(path: Path, buffers: _Buffers) -> set[str]:
    names = {k for k, v in buffers.files.items() if v == path} | {buffers.names[path]}
    return names


def apply_reply(text: str, files: dict[str, Path], *, new_files: NewFilePolicy | None = None,
                max_bytes: int = MAX_FILE_BYTES) -> EditReport:
    """Parse a reply and apply its blocks (see apply_blocks); a cut-off reply is marked truncated."""
    parsed = parse_reply(text)
    report = apply_blocks(parsed.blocks, files, new_files=new_files, max_bytes=max_bytes)
    report.truncated, report.cut_off_path = parsed.truncated, parsed.cut_off_path
    return report
