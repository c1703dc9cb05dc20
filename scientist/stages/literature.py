"""Literature search: Semantic Scholar, with OpenAlex as fallback, an on-disk cache and the
suite's one retry policy (reviewer.retry). Offline (no name resolution, connection refused),
`search` raises LiteratureUnavailable quickly, once per client; a time-out fails only the search
it happened in. The cache is written atomically and an unreadable entry is skipped with a warning.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from reviewer.atomic_file import write_text_atomic
from reviewer.retry import RetriesExhausted, RetryPolicy, Transient
from scientist.records import PaperHit

log = logging.getLogger(__name__)

S2_URL = "https://api.semanticscholar.org/graph/v1/paper/search"
S2_FIELDS = "title,authors,venue,year,abstract,citationCount,citationStyles,externalIds,url"
OPENALEX_URL = "https://api.openalex.org/works"
BACKENDS = ("semantic_scholar", "openalex")

# (url, headers, timeout) -> (status, response headers, body)
Fetcher = Callable[[str, dict[str, str], float], tuple[int, dict[str, str], bytes]]


class LiteratureUnavailable(RuntimeError):
    """No literature service could be reached (offline, blocked, or rate-limited for good)."""


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "ai-scientist-bench" / "literature"


def urllib_fetch(url: str, headers: dict[str, str], timeout: float) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(url, headers={"User-Agent": "ai-scientist-bench/0.1", **headers})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers or {}), err.read() or b""


def _reason(err: BaseException) -> BaseException:
    if isinstance(err, urllib.error.URLError) and isinstance(err.reason, BaseException):
        return err.reason
    return err


def _is_timeout(err: BaseException) -> bool:
    return isinstance(_reason(err), (socket.timeout, TimeoutError))


def _is_connectivity_error(err: BaseException) -> bool:
    """No route to the service at all (not a slow answer): the machine is offline for us."""
    err = _reason(err)
    return not _is_timeout(err) and isinstance(err, (socket.gaierror, ConnectionError, OSError))


_RETRY_STATUS = (429, 500, 502, 503, 504)
OFFLINE_AFTER_TIMEOUTS = 4  # service calls in a row that time out (after retries) before we stop trying


# ---- payload parsing ---------------------------------------------------------------------
def parse_semantic_scholar(payload: dict[str, Any]) -> list[PaperHit]:
    hits = []
    for item in payload.get("data") or []:
        if not item.get("title"):
            continue
        styles = item.get("citationStyles") or {}
        ids = item.get("externalIds") or {}
        hits.append(PaperHit(
            title=item["title"].strip(),
            authors=[a.get("name", "") for a in item.get("authors") or [] if a.get("name")],
            year=item.get("year"), venue=item.get("venue") or "",
            abstract=item.get("abstract") or "", citation_count=item.get("citationCount"),
            doi=ids.get("DOI"), url=item.get("url"), source="semantic_scholar",
            bibtex=styles.get("bibtex"),
        ))
    return hits


def _openalex_abstract(index: dict[str, list[int]] | None) -> str:
    if not index:
        return ""
    words = sorted((pos, word) for word, positions in index.items() for pos in positions)
    return " ".join(word for _, word in words)


def parse_openalex(payload: dict[str, Any]) -> list[PaperHit]:
    hits = []
    for item in payload.get("results") or []:
        title = item.get("title") or item.get("display_name")
        if not title:
            continue
        source = ((item.get("primary_location") or {}).get("source") or {})
        doi = item.get("doi")
        hits.append(PaperHit(
            title=title.strip(),
            authors=[(a.get("author") or {}).get("display_name", "") for a in item.get("authorships") or []],
            year=item.get("publication_year"), venue=source.get("display_name") or "",
            abstract=_openalex_abstract(item.get("abstract_inverted_index")),
            citation_count=item.get("cited_by_count"),
            doi=doi.removeprefix("https://doi.org/") if doi else None, url=item.get("id"),
            source="openalex",
        ))
    return hits


# ---- BibTeX ------------------------------------------------------------------------------
def bibtex_key(hit: PaperHit, taken: set[str] = frozenset()) -> str:
    surname = re.sub(r"[^a-z]", "", (hit.authors[0].split()[-1] if hit.authors else "anon").lower()) or "anon"
    word = next((w for w in re.findall(r"[a-z]+", hit.title.lower()) if len(w) > 3), "paper")
    base = f"{surname}{hit.year or ''}{word}"
    key, n = base, 1
    while key in taken:
        n += 1
        key = f"{base}{chr(ord('a') + n - 2)}" if n <= 27 else f"{base}{n}"
    return key


def _bib_escape(text: str) -> str:
    return re.sub(r"([&%$#_])", r"\\\1", text.replace("{", "").replace("}", ""))


def make_bibtex(hit: PaperHit, key: str) -> str:
    """A BibTeX entry under our key (a service's own entry keeps its fields, with the key replaced)."""
    if hit.bibtex and re.match(r"\s*@\w+\s*\{", hit.bibtex):
        return re.sub(r"^(\s*@\w+\s*\{)[^,]*,", lambda m: f"{m.group(1)}{key},", hit.bibtex.strip(), count=1)
    fields = {
        "title": "{" + _bib_escape(hit.title) + "}",
        "author": " and ".join(_bib_escape(a) for a in hit.authors) or "Anonymous",
        "year": str(hit.year) if hit.year else None,
        "journal": _bib_escape(hit.venue) if hit.venue else None,
        "doi": hit.doi,
    }
    body = ",\n".join(f"  {k} = {{{v}}}" for k, v in fields.items() if v)
    kind = "article" if hit.venue else "misc"
    return f"@{kind}{{{key},\n{body}\n}}"


# ---- the client --------------------------------------------------------------------------
class LiteratureClient:
    def __init__(
        self,
        cache_dir: Path | None = None,
        backends: tuple[str, ...] = BACKENDS,
        timeout_s: float = 8.0,
        max_retries: int = 4,
        backoff_s: float = 1.0,
        fetch: Fetcher = urllib_fetch,
        sleep: Callable[[float], None] = time.sleep,
        s2_api_key: str | None = None,
    ) -> None:
        self.cache_dir = cache_dir or default_cache_dir()
        self.backends = backends
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self.fetch = fetch
        self.sleep = sleep
        self.s2_api_key = s2_api_key or os.environ.get("S2_API_KEY")
        self.offline_reason: str | None = None  # set at the first connectivity failure
        self.timeouts_in_a_row = 0
        self.last_source: str | None = None

    def _cache_path(self, backend: str, query: str, limit: int) -> Path:
        digest = hashlib.sha256(f"{backend}\n{query.strip().lower()}\n{limit}".encode()).hexdigest()
        return self.cache_dir / f"{backend}-{digest[:32]}.json"

    def _url(self, backend: str, query: str, limit: int) -> tuple[str, dict[str, str]]:
        if backend == "semantic_scholar":
            params = {"query": query, "limit": limit, "fields": S2_FIELDS}
            headers = {"x-api-key": self.s2_api_key} if self.s2_api_key else {}
            return f"{S2_URL}?{urllib.parse.urlencode(params)}", headers
        params = {"search": query, "per-page": limit}
        if os.environ.get("OPENALEX_MAILTO"):
            params["mailto"] = os.environ["OPENALEX_MAILTO"]
        return f"{OPENALEX_URL}?{urllib.parse.urlencode(params)}", {}

    def _get(self, backend: str, query: str, limit: int) -> dict[str, Any]:
        url, headers = self._url(backend, query, limit)

        def once() -> dict[str, Any]:
            status, resp_headers, body = self.fetch(url, headers, self.timeout_s)
            if status == 200:
                self.timeouts_in_a_row = 0
                return json.loads(body or b"{}")
            if status in _RETRY_STATUS:
                retry_after = resp_headers.get("Retry-After") or resp_headers.get("retry-after")
                raise Transient(f"{backend} search: HTTP {status}",
                                float(retry_after) if retry_after and retry_after.isdigit() else None)
            raise RuntimeError(f"{backend} search failed: HTTP {status}")

        policy = RetryPolicy(max_attempts=self.max_retries + 1, base_s=self.backoff_s, max_s=60.0, jitter=False)
        try:
            return policy.call(once, lambda e: isinstance(e, Transient) or _is_timeout(e),
                               what=f"{backend} search", sleep=self.sleep)[0]
        except RetriesExhausted as failed:
            err = failed.error
            if _is_connectivity_error(err):
                self.offline_reason = f"{type(err).__name__}: {err}"
                raise LiteratureUnavailable(f"literature search offline ({self.offline_reason})") from err
            if isinstance(err, Transient):
                raise RuntimeError(f"{err} after {failed.attempts} attempt(s)") from err
            if _is_timeout(err):  # slow today, perhaps not for the next query: offline only if it persists
                self.timeouts_in_a_row += 1
                if self.timeouts_in_a_row >= OFFLINE_AFTER_TIMEOUTS:
                    self.offline_reason = f"{self.timeouts_in_a_row} searches in a row timed out"
                raise RuntimeError(f"{backend} search timed out after {failed.attempts} attempt(s)") from err
            raise err

    def _read_cache(self, path: Path) -> list[PaperHit] | None:
        try:
            return [PaperHit.model_validate(h) for h in json.loads(path.read_text(encoding="utf-8"))]
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError, ValueError, TypeError, ValidationError) as err:
            log.warning("literature cache: skipping unreadable entry %s (%s)", path, str(err).splitlines()[0][:200])
            try:
                path.replace(path.with_suffix(".corrupt"))
            except OSError:
                pass
            return None

    def search(self, query: str, limit: int = 10) -> list[PaperHit]:
        """Papers matching `query`, from the cache or the first backend that answers."""
        query = query.strip()
        if not query:
            return []
        for backend in self.backends:
            hits = self._read_cache(self._cache_path(backend, query, limit))
            if hits is not None:
                self.last_source = backend
                return hits
        if self.offline_reason:
            raise LiteratureUnavailable(f"literature search offline ({self.offline_reason})")
        errors = []
        for backend in self.backends:
            try:
                payload = self._get(backend, query, limit)
            except LiteratureUnavailable:
                raise
            except Exception as err:  # rate-limited for good, bad payload: try the next service
                errors.append(f"{backend}: {err}")
                continue
            hits = (parse_semantic_scholar if backend == "semantic_scholar" else parse_openalex)(payload)
            try:  # atomic: a kill mid-write must not leave an entry that breaks later searches
                write_text_atomic(self._cache_path(backend, query, limit),
                                  json.dumps([h.model_dump(mode="json") for h in hits], indent=1))
            except OSError as err:
                log.warning("literature cache: could not store %s (%s)", self.cache_dir, err)
            self.last_source = backend
            return hits
        raise LiteratureUnavailable("literature search failed: " + "; ".join(errors))


def format_hits(hits: list[PaperHit], abstract_chars: int = 400) -> str:
    if not hits:
        return "No papers found."
    out = []
    for i, h in enumerate(hits):
        authors = ", ".join(h.authors[:4]) + (" et al." if len(h.authors) > 4 else "")
        line = f"{i}: {h.title}. {authors}. {h.venue or 'n/a'}, {h.year or 'n.d.'}."
        if h.citation_count is not None:
            line += f" Cited by {h.citation_count}."
        if h.abstract:
            line += f"\nAbstract: {h.abstract[:abstract_chars]}"
        out.append(line)
    return "\n\n".join(out)
