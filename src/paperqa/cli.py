"""Command line: `paperqa ingest | ask | papers | chats | serve | check | reset | eval`.

User mistakes and misconfiguration print one line saying what to fix (exit 1), never a
traceback. `--json` prints one JSON document for scripts.

May touch: `api.PaperQA` and pure helpers (export, references, settings; evaluate for `paperqa eval`); never the index.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from .errors import PaperQAError, first_line


def _settings(home: str | None, chroma_url: str | None = None) -> Any:
    if home:
        os.environ["PAPERQA_HOME"] = home
    if chroma_url:
        os.environ["PAPERQA_CHROMA_URL"] = chroma_url
    from .settings import Settings

    return Settings()


def _app(home: str | None, chroma_url: str | None = None) -> Any:
    from .api import PaperQA

    return PaperQA(_settings(home, chroma_url))


home_opt = click.option("--home", envvar="PAPERQA_HOME", help="Data folder (default: PAPERQA_HOME).")
chroma_opt = click.option(
    "--chroma-url", envvar="PAPERQA_CHROMA_URL", help="Use a Chroma server instead of the local store."
)


def _dump(obj: Any) -> None:
    click.echo(json.dumps(obj, indent=2, ensure_ascii=False))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="paperqa-local")
def cli() -> None:
    """PaperQA: answers about a corpus of papers, with citations you can check."""
    from .settings import apply_offline_defaults

    apply_offline_defaults()  # before any command imports a model library


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary.")
@home_opt
@chroma_opt
def ingest(paths: tuple[Path, ...], as_json: bool, home: str | None, chroma_url: str | None) -> None:
    """Parse and index PATHS (files or folders; the bundled corpus when none)."""
    from tqdm import tqdm

    app = _app(home, chroma_url)
    bar: Any = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, unit="paper", desc="Indexing", file=sys.stderr, disable=None)
        bar.update(done - bar.n)

    try:
        report = app.ingest(list(paths), progress=progress)
    finally:
        if bar is not None:
            bar.close()
    if as_json:
        _dump(report.model_dump())
        if nothing_ingested(report):
            sys.exit(1)
        return
    click.echo(
        f"{report.papers} papers in the index: {report.added} added, {report.updated} updated, "
        f"{report.unchanged} unchanged, {report.skipped} skipped ({report.seconds:.1f} s)"
    )
    for err in report.errors:
        loc = f"{err.file}:{err.line}" if err.line else err.file
        click.echo(f"  skipped {loc}: {err.reason}", err=True)
    if nothing_ingested(report):
        where = ", ".join(map(str, paths)) or "the bundled corpus"
        raise PaperQAError(f"nothing could be ingested from {where}", hint=INGEST_HINT)


INGEST_HINT = (
    "give daily-papers pages (.txt), arXiv JSONL/JSON, BibTeX, CSV, Atom XML or a Zotero export "
    "(CSL JSON, RIS); the lines above say what was wrong"
)


def nothing_ingested(report: Any) -> bool:
    """Files were given and none of their papers was stored or already there (exit 1)."""
    return report.added + report.updated + report.unchanged == 0


def format_references(answer: Any) -> str:
    from .references import listed_sources, reference

    return "\n".join(f"[{s.n}] {reference(s.paper)}" for s in listed_sources(answer))


@cli.command()
@click.argument("question")
@click.option("--json", "as_json", is_flag=True, help="Print the answer as JSON.")
@click.option(
    "--style",
    type=click.Choice(["auto", "factoid", "comparison", "summary", "listing"]),
    default=None,
    help="Force an answer style (default: route by question).",
)
@click.option("--top-k", type=int, default=None, help="Papers to retrieve.")
@click.option("--date-from", default=None, help="Only papers dated on/after YYYY-MM-DD.")
@click.option("--date-to", default=None, help="Only papers dated on/before YYYY-MM-DD.")
@click.option("--page", "pages", multiple=True, help="Only papers from this source page (repeatable).")
@click.option(
    "--paper",
    "paper_ids",
    multiple=True,
    help="Answer only from the paper with this id (repeatable; ids from `paperqa papers --search`).",
)
@click.option(
    "--force",
    is_flag=True,
    help="Answer from the closest papers even when the corpus is judged not to cover the question.",
)
@click.option("--stream/--no-stream", default=None, help="Show the draft while it is generated.")
@click.option(
    "-c",
    "--follow-up",
    is_flag=True,
    help="Continue the newest saved chat: 'it', 'the paper', 'they' mean what its last answer was about.",
)
@click.option("--chat", "chat_id", default=None, help="Continue saved chat CHAT (ids from `paperqa chats`).")
@click.option("--no-save", is_flag=True, help="Do not save the answer as a chat turn.")
@home_opt
@chroma_opt
def ask(
    question: str,
    as_json: bool,
    style: str | None,
    top_k: int | None,
    date_from: str | None,
    date_to: str | None,
    pages: tuple[str, ...],
    paper_ids: tuple[str, ...],
    force: bool,
    stream: bool | None,
    follow_up: bool,
    chat_id: str | None,
    no_save: bool,
    home: str | None,
    chroma_url: str | None,
) -> None:
    """Answer QUESTION from the corpus, with numbered citations and references. Each answer is
    saved as a chat (`paperqa chats`); `--follow-up` or `--chat ID` asks the next turn of one."""
    from .answer.retrieve import Filters
    from .references import references_heading
    from .validate import check_top_k, clean_question

    # Checked before the index and models load: a typo costs no wait.
    clean_question(question)
    check_top_k(top_k)
    filters = Filters(date_from=date_from, date_to=date_to, pages=list(pages), paper_ids=list(paper_ids))
    app = _app(home, chroma_url)
    app.ensure_corpus()
    chat_id, history = _conversation(app, chat_id, follow_up)
    show_draft = stream if stream is not None else (sys.stderr.isatty() and not as_json)
    final = None
    shown = 0
    events = app.ask_stream(question, history=history, style=style, filters=filters, top_k=top_k, force=force)
    for ev in events:
        if ev.kind == "token" and show_draft:
            click.echo(ev.text[shown:], nl=False, err=True)
            shown = len(ev.text)
        elif ev.kind == "final":
            final = ev.answer
    if show_draft and shown:
        click.echo("\n" + "─" * 40, err=True)
    assert final is not None
    saved = no_save or _save_turn(app, chat_id, final, style=style, filters=filters, top_k=top_k)
    if as_json:
        _dump({**final.to_json_dict(), "chat_id": chat_id if saved and not no_save else None})
        return
    click.echo(final.answer)
    refs = format_references(final)
    if refs:
        click.echo(f"\n{references_heading(final)}")
        click.echo(refs)
    if final.refused and final.sources:
        click.echo("\nTo answer from the closest papers anyway, ask again with --force.")
    for note in final.notes:
        click.echo(f"note: {note}", err=True)


def _save_turn(app: Any, chat_id: str, answer: Any, **options: Any) -> bool:
    """Save the answer as the chat's next turn; a store that cannot be written costs a warning,
    never the answer (it is printed either way)."""
    try:
        app.save_answer(chat_id, answer, **options)
        return True
    except (PaperQAError, OSError) as e:
        click.echo(f"warning: the answer was not saved as a chat: {first_line(e)}", err=True)
        return False


def _conversation(app: Any, chat_id: str | None, follow_up: bool) -> tuple[str, list[Any]]:
    """The chat a question goes on (a new one unless `--chat` or `--follow-up` names one) and its
    turns so far, each with the papers its answer's lead cited."""
    from .history import new_conversation_id

    if chat_id is None and follow_up:
        chats = app.conversations()
        if not chats:
            raise PaperQAError(
                "there is no saved chat to follow up on",
                hint="ask a question first: every `paperqa ask` is saved as a chat",
            )
        chat_id = chats[0].id
    if chat_id is None:
        return new_conversation_id(), []
    return chat_id, [t.answer.as_prior() for t in app.conversation(chat_id).items]


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print every paper as JSON.")
@click.option(
    "--search",
    default=None,
    help="Only papers whose title, abstract or authors contain this text (as the UI).",
)
@home_opt
@chroma_opt
def papers(as_json: bool, search: str | None, home: str | None, chroma_url: str | None) -> None:
    """List the papers in the index."""
    app = _app(home, chroma_url)
    items = app.search_papers(search, limit=None) if search else app.papers()
    if as_json:
        _dump([p.public_dict() for p in items])
        return
    for p in items:
        click.echo(f"{p.id}  {p.shown_date.ljust(12)}  {p.title}")
    click.echo(f"{len(items)} papers", err=True)


def _saved_chats(home: str | None) -> Any:
    from .api import SavedChats

    return SavedChats(_settings(home))  # opens no index: works while `paperqa serve` runs


@cli.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print the saved chats as JSON.")
@click.option("--user", default=None, help="Whose chats (the UI's login name; default: the local user).")
@home_opt
@click.pass_context
def chats(ctx: click.Context, as_json: bool, user: str | None, home: str | None) -> None:
    """List the chats saved by the chat UI (newest first); `chats export ID` prints one."""
    ctx.obj = {"user": user, "home": home}
    if ctx.invoked_subcommand is not None:
        return
    from .export import n_questions, saved_at

    items = _saved_chats(home).conversations(user)
    if as_json:
        _dump([c.model_dump() for c in items])
        return
    for c in items:
        click.echo(f"{c.id}  {saved_at(c.updated)}  {n_questions(c.turns)}  {c.title}")
    if not items:
        click.echo("no saved chats: chats asked in `paperqa serve` are saved here", err=True)


@chats.command("export")
@click.argument("chat_id")
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None, help="Write to this file.")
@click.option("--user", default=None, help="Whose chat (also accepted before `export`).")
@click.option("--home", default=None, help="Data folder (also accepted before `export`).")
@click.pass_obj
def chats_export(
    obj: dict[str, Any], chat_id: str, output: Path | None, user: str | None, home: str | None
) -> None:
    """Print saved chat CHAT_ID as Markdown (questions, cited answers, references)."""
    markdown = _saved_chats(home or obj["home"]).export_conversation(chat_id, user or obj["user"])
    if output is None:
        click.echo(markdown, nl=False)
        return
    try:
        output.write_text(markdown, encoding="utf-8")
    except OSError as e:
        raise PaperQAError(f"cannot write {output} ({e.strerror})", hint="choose a writable path") from e
    click.echo(f"chat {chat_id} written to {output}", err=True)


@cli.command()
@click.option("--host", default=None, help="Bind address (default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default 7860).")
@click.option("--mcp", is_flag=True, default=None, help="Also serve Gradio's MCP endpoint.")
@click.option(
    "--allow-remote-without-auth", is_flag=True, help="Bind beyond localhost with no password (not advised)."
)
@home_opt
@chroma_opt
def serve(
    host: str | None,
    port: int | None,
    mcp: bool | None,
    allow_remote_without_auth: bool,
    home: str | None,
    chroma_url: str | None,
) -> None:
    """Start the chat UI (ingests the bundled corpus first when the index is empty)."""
    settings = _settings(home, chroma_url)
    if host:
        settings.ui.host = host
    if port:
        settings.ui.port = port
    if mcp:
        settings.ui.mcp = True
    try:
        from paperqa_ui.serve import launch
    except ImportError as e:
        raise PaperQAError("the UI package is not installed", hint="run `make install`") from e
    launch(settings, allow_remote_without_auth=allow_remote_without_auth)


@cli.command()
@home_opt
def check(home: str | None) -> None:
    """Test the configured LLM with a one-line request."""
    settings = _settings(home)
    from .answer.llm import check_llm

    click.echo(check_llm(settings.llm))


@cli.command()
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@home_opt
def reset(yes: bool, home: str | None) -> None:
    """Delete the index (Chroma store + keyword index) under the data folder."""
    settings = _settings(home)
    targets = [settings.chroma_dir, settings.keyword_dir]
    if not yes:
        click.confirm(f"Delete {', '.join(map(str, targets))}?", abort=True)
    from .api import reset_index

    reset_index(settings)  # refused while a process has the index open
    click.echo(f"index removed from {settings.home}; `paperqa ingest` rebuilds it")


@cli.command("eval")
@click.option(
    "--questions",
    "questions_path",
    type=click.Path(path_type=Path),
    default=Path("eval/dev.jsonl"),
    show_default=True,
    help="JSONL question set.",
)
@click.option("--answers", is_flag=True, help="Also run every question through the LLM and score answers.")
@click.option(
    "--report",
    "report_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Write report.md + PNG here.",
)
@click.option(
    "--tuned-on",
    default="eval/dev.jsonl",
    show_default=True,
    help="Question set the settings were tuned on (printed next to the set reported on).",
)
@click.option(
    "--tune",
    is_flag=True,
    help="Instead: score the retrieval settings grid on --questions and print the pick and every row.",
)
@click.option(
    "--cv",
    "cv_with",
    type=click.Path(path_type=Path),
    multiple=True,
    help="Instead: split-half cross-validation of the settings grid on --questions plus this set "
    "(repeat for more sets).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@home_opt
@chroma_opt
def eval_cmd(
    questions_path: Path,
    answers: bool,
    report_dir: Path | None,
    tuned_on: str,
    tune: bool,
    cv_with: tuple[Path, ...],
    as_json: bool,
    home: str | None,
    chroma_url: str | None,
) -> None:
    """Measure retrieval (hybrid vs BM25 vs dense) and, with --answers, answer quality."""
    from tqdm import tqdm

    from .evaluate import load_questions, run, summary_table, write_report
    from .tuning import cross_validate, cv_table
    from .tuning import tune as tune_grid

    questions = load_questions(questions_path)
    app = _app(home, chroma_url)
    app.ensure_corpus()
    if cv_with:
        cv = cross_validate(app, questions + [q for path in cv_with for q in load_questions(path)])
        if as_json:
            _dump(cv)
        else:
            click.echo(cv_table(cv, [str(questions_path), *map(str, cv_with)]))
        return
    if tune:
        app.warm_up_retrieval()
        picked, rows = tune_grid(app, questions)
        chosen = {k: getattr(picked, k) for k in rows[0] if hasattr(picked, k)}
        if as_json:
            _dump({"questions": str(questions_path), "picked": chosen, "grid": rows})
        else:
            for row in rows:
                click.echo("  ".join(f"{k}={v}" for k, v in row.items()))
            click.echo(f"picked on {questions_path}: {chosen}")
        return
    total = len([q for q in questions if q.type != "unanswerable"]) + (len(questions) if answers else 0)
    with tqdm(total=total, desc="Evaluating", unit="q", file=sys.stderr, disable=None) as bar:
        result = run(
            app,
            questions,
            answers=answers,
            progress=lambda: bar.update(1),
            source=str(questions_path),
            tuned_on=tuned_on or None,
        )
    if report_dir:
        path = write_report(result, report_dir)
        click.echo(f"report: {path}", err=True)
    if as_json:
        _dump(result)
    else:
        click.echo(summary_table(result))


def main() -> None:
    try:
        cli(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(1)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except PaperQAError as e:
        click.echo(f"Error: {e}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
