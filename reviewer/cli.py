"""`bench review PATH`: review one paper and print the review."""
from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from reviewer.llm import summarize

console = Console()
err_console = Console(stderr=True)


from reviewer.cli_support import ExitCode, exit_code_for, fail  # noqa: E402  (shared by every command)


def render_record(record) -> Panel:  # noqa: ANN001 (ReviewRecord; imported lazily)
    review = record.reviews[0]
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    for name, value in record.scores.items():
        table.add_row(name, f"{value:g}")
    table.add_row("Decision", f"[{'green' if record.decision == 'Accept' else 'red'}]{record.decision}[/]")
    if record.p_accept is not None:
        table.add_row("P(accept)", f"{record.p_accept:.2f} (calibrated: {record.calibrated_decision})")
    body = [f"[bold yellow]{record.reviewer_note}[/]", ""] if getattr(record, "reviewer_note", None) else []
    body += [f"[bold]Summary[/] {review.summary}", "", "[bold]Strengths[/]"]
    body += [f" + {s}" for s in review.strengths]
    body += ["", "[bold]Weaknesses[/]"] + [f" - {w}" for w in review.weaknesses]
    if record.meta:
        body += ["", f"[bold]Meta-review ({record.meta.n_reviews} reviews)[/] {record.meta.text}"]
    if record.prompt_injection:
        body += ["", f"[bold yellow]Prompt injection: {len(record.prompt_injection)} span(s) removed before review[/]"]
    if getattr(record, "injection_judge", None):
        judge = record.injection_judge
        said = judge["detail"] or f"{len(judge['flagged'])} of {judge['sent']} candidate passage(s) flagged"
        body += ["", f"[dim]Injection judge {judge['model']}: {said}.[/]"]
    if record.anonymization:
        removed = ", ".join(f"{k} x{v}" for k, v in record.anonymization["removed"].items()) or "nothing"
        body += ["", f"[dim]Anonymized before review: removed {removed}.[/]"]
    if record.paper_truncated:
        body += ["", "[dim]The paper was truncated to fit the model's context window.[/]"]
    if getattr(record, "dropped_items", None):
        body += ["", f"[dim]{len(record.dropped_items)} unusable Strengths/Weaknesses item(s) removed "
                     "(non-words, repeats, or in both lists) after re-asking.[/]"]
    usage = summarize(record.usage)
    body += ["", f"[dim]{usage['calls']} calls ({usage['cached_calls']} cached), "
                 f"{usage['prompt_tokens']}+{usage['completion_tokens']} tokens, "
                 f"${usage['cost_usd']:.4f}, {record.elapsed_s:.1f}s[/]"]
    from rich.console import Group

    smoke = " (smoke-test reviewer)" if getattr(record, "reviewer_note", None) else ""
    return Panel(Group(table, "", "\n".join(body)), title=f"Review of {record.paper_id} by {record.model}{smoke}")


@click.command("review")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--model", "-m", default=None, help="litellm model string, or local/smollm2 (default without API keys).")
@click.option("--reflections", default=0, show_default=True, type=click.IntRange(0, 10))
@click.option("--fewshot", default=0, show_default=True, type=click.IntRange(0, 10))
@click.option("--fewshot-dir", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None)
@click.option("--ensemble", default=1, show_default=True, type=click.IntRange(1, 20))
@click.option("--temperature", default=0.1, show_default=True, type=float)
@click.option("--api-base", default=None, help="Endpoint for openai/<name> models served elsewhere.")
@click.option("--calibrator", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Calibrator file from `bench reviewer calibrate`: adds P(accept).")
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the review record (reviews, usage, cost) as JSON.")
@click.option("--no-cache", is_flag=True, help="Do not read or write the response cache.")
@click.option("--no-anonymize", is_flag=True,
              help="Review the text as given. By default author block, venue lines, acknowledgements, links and "
                   "emails are removed and the main body is cut to a fixed length (see reviewer/anonymize.py).")
@click.option("--injection-judge", "injection_judge", default=None, metavar="MODEL",
              help="Also ask MODEL which passages that look addressed to the reviewer instruct it (one bounded call; "
                   "what it flags is removed and recorded). See reviewer/injection/judge.py.")
@click.option("--injection-judge-api-base", default=None, help="Endpoint of the judge model, if served elsewhere.")
def review_command(path, model, reflections, fewshot, fewshot_dir, ensemble, temperature, api_base,
                   calibrator, json_out, no_cache, no_anonymize, injection_judge, injection_judge_api_base) -> None:
    """Review the paper at PATH (.pdf, .txt or .md) with the NeurIPS review form."""
    from reviewer.llm import ModelClient, ModelError
    from reviewer.llm.embedded import EmbeddedModelError
    from reviewer.paper_text import PaperInputError
    from reviewer.review_file import review_file
    from reviewer.reviewer import ReviewerConfig, save_record

    try:
        client = ModelClient(model, api_base=api_base, cache=not no_cache)
        config = ReviewerConfig(model=client.model, reflections=reflections, fewshot=fewshot,
                                fewshot_dir=fewshot_dir, ensemble=ensemble, temperature=temperature,
                                injection_judge=injection_judge, injection_judge_api_base=injection_judge_api_base)
        with console.status(f"Reviewing {path.name} with {client.model} ..."):
            record = review_file(path, config, client=client, calibrator=calibrator, anonymize=not no_anonymize)
    except PaperInputError as err:
        fail(str(err), ExitCode.BAD_INPUT)
    except (ModelError, EmbeddedModelError, ValueError, OSError) as err:
        fail(str(err), exit_code_for(err))
    console.print(render_record(record))
    if json_out:
        save_record(record, json_out)
        console.print(f"Wrote {json_out}")


def register(group: click.Group) -> None:
    group.add_command(review_command)
