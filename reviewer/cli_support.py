"""What every `bench` command shares: exit codes, one-line errors, logging, the failure summary.

Exit codes, the same for every command:
    0  everything asked for was done
    1  finished, but some items failed (counted in the last line)
    2  bad input or configuration (one line on stderr, no traceback)
    3  infrastructure missing: sandbox, pdflatex, model endpoint, disk space
"""
from __future__ import annotations

import errno
import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from enum import IntEnum
from pathlib import Path
from typing import NoReturn

from rich.console import Console
from rich.markup import escape

err_console = Console(stderr=True)
log = logging.getLogger("bench")

# Loggers of our own packages: their warnings always reach the terminal and the run's records.
OUR_LOGGERS = ("reviewer", "scientist", "benchmark", "bench")
BAD_INPUT_ERRORS = {"ModelAuthError", "ModelRequestError", "RecordedReplyMissing", "PaperInputError",
                    "DatasetError", "CalibrationError", "RunDirError", "TemplateError", "UnknownEmbeddedModel"}
NOISY_LOGGERS = ("litellm", "LiteLLM", "httpx", "httpcore", "openai", "urllib3", "matplotlib")
RUN_LOG_NAME = "bench.log"


class ExitCode(IntEnum):
    OK = 0
    FAILURES = 1
    BAD_INPUT = 2
    INFRASTRUCTURE = 3


def fail(message: str, code: int = ExitCode.BAD_INPUT) -> NoReturn:
    """One line on stderr, unwrapped, and a non-zero exit: never a traceback for bad input."""
    err_console.print(f"[red]error:[/] {escape(message.strip().splitlines()[0] if message.strip() else message)}",
                      soft_wrap=True)
    sys.exit(int(code))


class _Counter(logging.Handler):
    """Counts the warnings and errors logged in this process, for the failure summary."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.warnings = 0
        self.errors = 0

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR:
            self.errors += 1
        else:
            self.warnings += 1


counter = _Counter()
_configured = False


def setup_logging(verbose: int = 0, quiet: bool = False) -> None:
    """Configure logging once, at the CLI: rich handler on stderr, WARNING by default,
    INFO with -v, DEBUG with -vv, errors only with -q. Later calls only change the level."""
    global _configured
    level = logging.ERROR if quiet else (logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)]
    root = logging.getLogger()
    if not _configured:
        from rich.logging import RichHandler

        handler = RichHandler(console=err_console, show_time=False, show_path=verbose >= 2,
                              markup=False, rich_tracebacks=False)
        handler.setFormatter(logging.Formatter("%(message)s"))
        handler.set_name("bench-terminal")
        root.addHandler(handler)
        root.addHandler(counter)
        _configured = True
    for handler in root.handlers:
        if handler.get_name() == "bench-terminal":
            handler.setLevel(level)
    root.setLevel(min(level, logging.INFO))  # the run's record file gets INFO even when the terminal does not
    for name in OUR_LOGGERS:
        logging.getLogger(name).setLevel(logging.NOTSET)
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG if verbose >= 2 else logging.WARNING)


class _RunFileHandler(logging.FileHandler):
    """The run's log file. When it cannot be written (disk full), it says so once on the terminal
    and goes quiet, instead of printing a traceback for every later record."""

    failed = False

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 (logging's name)
        if not self.failed:
            self.failed = True
            err = sys.exc_info()[1]
            err_console.print(f"[yellow]warning:[/] cannot write {escape(str(self.baseFilename))}: {escape(str(err))}",
                              soft_wrap=True)


@contextmanager
def run_log(directory: Path) -> Iterator[Path]:
    """While the block runs, every INFO+ record is appended to DIRECTORY/bench.log as well."""
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = _RunFileHandler(directory / RUN_LOG_NAME, encoding="utf-8", delay=True)
    except OSError as err:  # e.g. the folder is not writable: the terminal still gets everything
        log.warning("cannot keep a log in %s: %s", directory, err)
        yield directory / RUN_LOG_NAME
        return
    handler.setLevel(logging.INFO)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    if root.level == logging.NOTSET or root.level > logging.INFO:
        root.setLevel(logging.INFO)
    try:
        yield directory / RUN_LOG_NAME
    finally:
        root.removeHandler(handler)
        handler.close()


def finish(failed: int, total: int, what: str, *, details: str | Path | None = None,
           run_dir: str | Path | None = None) -> None:
    """The last line of a command that processes many items; exits 1 when any failed.

    The line goes to the terminal and, with `run_dir`, to the end of RUN_DIR/bench.log too."""
    if failed:
        line = f"{failed} of {total} {what} failed" + (f" (details in {details})" if details else "")
    else:
        line = f"all {total} {what} done"
    if run_dir is not None:
        try:
            with open(Path(run_dir) / RUN_LOG_NAME, "a", encoding="utf-8") as handle:
                handle.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} SUMMARY {line}\n")
        except OSError:
            pass
    err_console.print(f"[red]{escape(line)}[/]" if failed else escape(line), soft_wrap=True, highlight=False)
    if failed:
        sys.exit(int(ExitCode.FAILURES))


def is_disk_full(err: BaseException) -> bool:
    return isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


def infrastructure_error(err: BaseException) -> str | None:
    """A one-line description when `err` says the machine lacks something (exit 3), else None."""
    if is_disk_full(err):
        where = getattr(err, "filename", None)
        return f"disk full: {err.strerror or err}" + (f" ({where})" if where else "")
    names = {cls.__name__ for cls in type(err).__mro__}
    if names & BAD_INPUT_ERRORS:
        return None
    if names & {"ModelUnavailable", "EmbeddedModelError", "SandboxUnavailable", "LatexUnavailable"}:
        return str(err).splitlines()[0] if str(err) else type(err).__name__
    return None




def exit_code_for(err: BaseException) -> ExitCode:
    """2 for bad input or configuration, 3 for missing infrastructure, else 1."""
    if infrastructure_error(err) is not None:
        return ExitCode.INFRASTRUCTURE
    if {cls.__name__ for cls in type(err).__mro__} & BAD_INPUT_ERRORS:
        return ExitCode.BAD_INPUT
    return ExitCode.FAILURES


@contextmanager
def exit_codes() -> Iterator[None]:
    """Turns the errors every command can meet (bad input, missing infrastructure) into their
    exit code and one line; anything else is a bug and keeps its traceback."""
    try:
        yield
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as err:
        code = exit_code_for(err)
        if code == ExitCode.FAILURES:
            raise
        fail(infrastructure_error(err) or str(err), code)
