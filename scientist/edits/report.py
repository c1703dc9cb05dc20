"""What happened to each edit block of a reply: the record the stages keep and the text the model reads."""
from __future__ import annotations

from pydantic import BaseModel, Field

# Why a block was refused; the transcript replay counts refusals by these.
CAUSES = ("malformed", "no_file_name", "not_allowed", "new_file_refused", "too_large", "unreadable",
          "no_match", "ambiguous")


class BlockOutcome(BaseModel):
    index: int
    path: str
    status: str  # applied | refused | unchanged (the REPLACE text is already there)
    how: str = ""  # exact, first_of_n, reindented, trailing_whitespace, blank_lines, end_of_file, new_file, appended
    cause: str = ""  # one of CAUSES when refused
    message: str = ""
    name_inferred: bool = False  # the block had no file-name line: the previous block's name was used
    note: str = ""  # how a tolerant match or a bent format was read


class EditReport(BaseModel):
    blocks: list[BlockOutcome] = Field(default_factory=list)
    changed: list[str] = Field(default_factory=list)  # files written
    created: list[str] = Field(default_factory=list)  # new files among them
    truncated: bool = False  # the reply ended inside a block (cut off at the output limit)
    cut_off_path: str | None = None

    @property
    def applied(self) -> list[BlockOutcome]:
        return [b for b in self.blocks if b.status == "applied"]

    @property
    def refused(self) -> list[BlockOutcome]:
        return [b for b in self.blocks if b.status == "refused"]

    @property
    def ok(self) -> bool:
        """Every block applied (or already there) and nothing cut off."""
        return not self.refused and not self.truncated

    def feedback(self) -> str:
        """For the model: what was applied, and each block that was not, with why."""
        parts = []
        done = [f"{b.index} ({b.path})" for b in self.blocks if b.status != "refused"]
        if done and (self.refused or self.truncated):
            parts.append("Edit blocks " + ", ".join(done) + " were applied; do not send them again.")
        if self.refused:
            for b in self.refused:
                parts.append(f"Edit block {b.index} ({b.path}) was NOT applied: {b.message}")
        if self.truncated:
            parts.append("Your reply was cut off at the output limit inside an edit block"
                         + (f" for {self.cut_off_path}" if self.cut_off_path else "")
                         + ": that block was not applied. Send the remaining edits again, fewer or smaller "
                           "blocks per reply.")
        return "\n".join(parts)
