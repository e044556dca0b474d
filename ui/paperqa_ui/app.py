"""Gradio chat UI: a thin adapter over `paperqa.api.PaperQA` (the same API as the CLI).

No retrieval, answer or parsing logic lives here: only layout, formatting and event wiring.
Text from papers, the model or the user reaches the chat through `escape_markup`: it is shown
literally, never rendered as HTML; only the markup built here (citation links, paper details) is.
"""

from __future__ import annotations

import html
import json
import re
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gradio as gr

from paperqa.api import PaperQA
from paperqa.errors import PaperQAError
from paperqa.export import escape_markup, to_bibtex, to_markdown
from paperqa.ingest import UPLOAD_SUFFIXES
from paperqa.retrieve import Filters
from paperqa.settings import LLMSettings, Settings
from paperqa.types import Answer, Paper, Source

CSS = """
.pqa-cite { cursor: pointer; font-weight: 600; color: var(--color-accent); text-decoration: none; }
.pqa-src { border-left: 3px solid var(--color-accent); padding: 4px 10px; margin-bottom: 10px; }
.pqa-src mark, .pqa-paper mark { background: rgba(255, 200, 40, .45); color: inherit; }
.pqa-paper { margin: 4px 0; }
.pqa-flash { outline: 2px solid var(--color-accent); border-radius: 6px; }
.pqa-notes { font-size: .85em; opacity: .8; }
footer { display: none !important; }
@media (max-width: 700px) { #sources-col { display: none; } }
"""

# Clicking a citation opens that paper's details inside the same answer and scrolls to it.
HEAD = """
<script>
document.addEventListener('click', (e) => {
  const a = e.target.closest && e.target.closest('a.pqa-cite');
  if (!a) return;
  e.preventDefault();
  const el = document.getElementById(a.getAttribute('href').slice(1));
  if (!el) return;
  el.open = true;
  el.scrollIntoView({behavior: 'smooth', block: 'nearest'});
  el.classList.add('pqa-flash');
  setTimeout(() => el.classList.remove('pqa-flash'), 1600);
});
</script>
"""

STYLES = {"auto": None, "concise": "factoid", "detailed": "summary", "table": "comparison", "list": "listing"}
BACKENDS = ["embedded", "gguf", "openai-compatible", "openai"]
DEFAULT_PREFS: dict[str, Any] = {
    "backend": "embedded",
    "gguf_path": "",
    "base_url": "",
    "model": "",
    "top_k": 5,
    "date_from": "",
    "date_to": "",
    "style": "auto",
}
UPLOAD_TYPES = list(UPLOAD_SUFFIXES)


def _paper_line(p: Paper) -> str:
    bits = [p.date or p.date_text or "undated"]
    if p.authors:
        bits.append(f"{p.authors} authors")
    if p.organization:
        bits.append(p.organization)
    if p.upvotes is not None:
        bits.append(f"▲ {p.upvotes}")
    return " · ".join(bits)


def _highlight(abstract: str, evidence: list[str]) -> str:
    out = escape_markup(abstract)
    for ev in evidence:
        out = out.replace(escape_markup(ev), f"<mark>{escape_markup(ev)}</mark>")
    return out


def _links(p: Paper) -> str:
    return " ".join(f'<a href="{html.escape(u)}" target="_blank">{html.escape(u)}</a>' for u in p.links)


def render_draft(text: str) -> str:
    """The answer as it is generated, shown literally, with a cursor."""
    return escape_markup(text) + " ▍"


def render_answer(answer: Answer) -> str:
    """Answer text with clickable citations, then references and each cited paper's details.

    The answer's own Markdown (bold, lists, tables, [n]) is rendered; any HTML in it (quoted
    from an abstract or written by the model) is shown as text."""
    aid = uuid.uuid4().hex[:8]
    by_n = {s.n: s for s in answer.sources}

    def cite(m: re.Match[str]) -> str:
        s = by_n.get(int(m.group(1)))
        if s is None:  # cannot happen after verification; never show an unresolved marker
            return ""
        tip = html.escape(f"{s.paper.title} — {_paper_line(s.paper)}", quote=True)
        return f'<a class="pqa-cite" href="#pqa-{aid}-{s.n}" title="{tip}">[{s.n}]</a>'

    body = re.sub(r"\[(\d+)\]", cite, escape_markup(answer.answer))
    cited = {c.n for c in answer.citations}
    shown = [s for s in answer.sources if answer.refused or s.n in cited]
    if shown:
        body += "\n\n**Closest papers**\n\n" if answer.refused else "\n\n**References**\n\n"
        for s in shown:
            p = s.paper
            body += (
                f'<details class="pqa-paper" id="pqa-{aid}-{s.n}"><summary>[{s.n}] <b>{html.escape(p.title)}</b>'
                f" — {html.escape(_paper_line(p))}</summary>{_highlight(p.abstract, s.evidence)}"
                f"<br>{_links(p)}<br><small>source: {html.escape(', '.join(p.locations or p.pages))}</small>"
                "</details>\n"
            )
    if answer.notes:
        body += '\n<div class="pqa-notes">Verifier: ' + escape_markup("; ".join(answer.notes)) + "</div>"
    return body


def render_sources(sources: list[Source]) -> str:
    if not sources:
        return "_The papers behind each answer appear here, with their scores._"
    out = []
    for s in sources:
        out.append(
            f'<div class="pqa-src"><b>[{s.n}] {html.escape(s.paper.title)}</b><br>'
            f"<small>{html.escape(_paper_line(s.paper))} · score {s.score:.3f} · similarity {s.dense:.2f}"
            f"</small><details><summary>abstract</summary>{_highlight(s.paper.abstract, s.evidence)}"
            f"<br>{_links(s.paper)}</details></div>"
        )
    return "\n".join(out)


def example_questions(app: PaperQA, n: int = 4) -> list[str]:
    """Questions drawn from the corpus itself: papers whose titles name a method."""
    named = [p for p in app.papers() if re.match(r"^[A-Z][\w\-^+.]*[A-Z0-9][\w\-]*: ", p.title)]
    named.sort(key=lambda p: (-(p.upvotes or 0), p.title))
    qs = [f"What does {p.title.split(':')[0]} propose, and what results does it report?" for p in named[:2]]
    if len(named) >= 4:
        qs.append(f"Compare {named[2].title.split(':')[0]} and {named[3].title.split(':')[0]}.")
    qs.append("Summarize what these papers report about reducing communication in distributed training.")
    return qs[:n]


def llm_settings_from(prefs: dict[str, Any], base: LLMSettings) -> LLMSettings | None:
    """The session's backend choice as LLMSettings (None: the server's default)."""
    backend = prefs.get("backend") or "embedded"
    if backend == "embedded" and base.resolved_provider() == "embedded":
        return None
    return base.model_copy(
        update={
            "provider": backend,
            "gguf_path": Path(prefs["gguf_path"]) if prefs.get("gguf_path") else None,
            "base_url": prefs.get("base_url") or None,
            "model": prefs.get("model") or None,
        }
    )


def corpus_rows(app: PaperQA, query: str = "") -> tuple[list[list[Any]], list[str]]:
    q = (query or "").strip().lower()
    papers = [p for p in app.papers() if not q or q in p.title.lower() or q in p.abstract.lower()]
    papers.sort(key=lambda p: (-(p.upvotes or 0), p.title))
    rows = [[p.title, p.date or p.date_text or "", ", ".join(p.pages), p.upvotes] for p in papers]
    return rows, [p.id for p in papers]


def build(app: PaperQA) -> gr.Blocks:
    with gr.Blocks(title="PaperQA", fill_height=True) as demo:
        prefs = gr.BrowserState(dict(DEFAULT_PREFS), storage_key="paperqa-prefs")
        history_state = gr.State([])  # this conversation's user questions
        corpus_ids = gr.State([])

        with gr.Sidebar(label="Settings", open=False, elem_id="settings"):
            gr.Markdown("### Settings\nSaved in this browser.")
            backend = gr.Radio(BACKENDS, value="embedded", label="LLM backend", elem_id="backend")
            gguf = gr.Textbox(label="GGUF file (backend: gguf)", elem_id="gguf")
            base_url = gr.Textbox(
                label="Server URL (OpenAI-compatible)",
                elem_id="base-url",
                placeholder="http://127.0.0.1:11434/v1",
            )
            model = gr.Textbox(label="Model name", elem_id="model")
            gr.Markdown("<small>OpenAI reads its key from OPENAI_API_KEY on the server.</small>")
            test_btn = gr.Button("Test connection", size="sm", elem_id="test-connection")
            test_out = gr.Markdown(elem_id="test-result")
            top_k = gr.Slider(1, 12, step=1, value=5, label="Papers per answer", elem_id="top-k")
            with gr.Row():
                date_from = gr.Textbox(label="From (YYYY-MM-DD)", elem_id="date-from")
                date_to = gr.Textbox(label="To", elem_id="date-to")
            style = gr.Dropdown(list(STYLES), value="auto", label="Answer style", elem_id="style")

        gr.Markdown(
            "## PaperQA\nAsk about the papers in the corpus. Click a `[n]` to read the paper it cites; "
            "claims the sources do not support are removed."
        )
        with gr.Tabs():
            with gr.Tab("Chat", id="chat-tab"), gr.Row(equal_height=False):
                with gr.Column(scale=3):
                    chatbot = gr.Chatbot(
                        label="Chat",
                        height=560,
                        buttons=["copy", "copy_all"],
                        elem_id="chat",
                        sanitize_html=True,
                    )
                    with gr.Row():
                        box = gr.Textbox(
                            placeholder="Ask a question about the papers…",
                            show_label=False,
                            scale=6,
                            autofocus=True,
                            elem_id="question",
                        )
                        send = gr.Button("Ask", variant="primary", scale=1, elem_id="ask")
                    with gr.Row():
                        new_chat = gr.Button("New chat", size="sm", elem_id="new-chat")
                        md_btn = gr.DownloadButton(
                            "Export Markdown", size="sm", visible=False, elem_id="export-md"
                        )
                        bib_btn = gr.DownloadButton(
                            "Export BibTeX", size="sm", visible=False, elem_id="export-bib"
                        )
                    gr.Examples(examples=example_questions(app), inputs=box, label="Try")
                with gr.Column(scale=2, elem_id="sources-col"):
                    gr.Markdown("### Sources")
                    sources_html = gr.HTML(render_sources([]), elem_id="sources")
            with gr.Tab("Corpus", id="corpus-tab", elem_id="corpus-tab"):
                with gr.Row():
                    search = gr.Textbox(
                        placeholder="Search titles and abstracts…",
                        show_label=False,
                        scale=5,
                        elem_id="corpus-search",
                    )
                    count = gr.Markdown(elem_id="corpus-count")
                table = gr.Dataframe(
                    headers=["Title", "Date", "Pages", "Upvotes"],
                    interactive=False,
                    wrap=True,
                    max_height=420,
                    elem_id="corpus-table",
                )
                paper_view = gr.HTML(elem_id="paper-view")
                gr.Markdown(
                    "#### Add papers\nDaily-papers pages (.txt), arXiv JSONL/JSON, BibTeX with abstracts, "
                    "CSV (title, abstract), arXiv Atom XML, or a Zotero library (CSL JSON .json, RIS .ris)."
                )
                upload = gr.File(
                    file_count="multiple", file_types=UPLOAD_TYPES, label="Files", elem_id="upload"
                )
                ingest_btn = gr.Button("Add to corpus", elem_id="ingest")
                ingest_out = gr.Markdown(elem_id="ingest-result")

        # ---- settings persistence -------------------------------------------------
        setting_inputs: list[Any] = [backend, gguf, base_url, model, top_k, date_from, date_to, style]
        keys = list(DEFAULT_PREFS)

        def save(*values: Any) -> dict[str, Any]:
            return dict(zip(keys, values, strict=True))

        for comp in setting_inputs:
            comp.change(save, setting_inputs, prefs, api_visibility="private")

        def restore(p: dict[str, Any] | None) -> list[Any]:
            p = {**DEFAULT_PREFS, **(p or {})}
            return [p[k] for k in keys]

        demo.load(restore, prefs, setting_inputs, api_visibility="private")

        # Actions read the settings as shown, not the saved copy: a click right after typing
        # could otherwise overtake the save of what was typed.
        def test_connection(*values: Any) -> str:
            try:
                return "✅ " + app.check_llm(llm_settings_from(save(*values), app.settings.llm))
            except PaperQAError as e:
                return f"⚠️ {e}"

        test_btn.click(test_connection, setting_inputs, test_out, api_visibility="private")

        # ---- chat -----------------------------------------------------------------
        def respond(
            message: str, chat: list[dict[str, Any]], hist: list[str], *values: Any
        ) -> Iterator[tuple[Any, ...]]:
            message = (message or "").strip()
            hidden = gr.update(visible=False)
            if not message:
                yield chat, hist, gr.update(), "", gr.update(), gr.update()
                return
            asked = {"role": "user", "content": escape_markup(message)}
            chat = [*chat, asked, {"role": "assistant", "content": "…"}]
            yield chat, hist, gr.update(), "", hidden, hidden
            p = {k: DEFAULT_PREFS[k] if v is None else v for k, v in save(*values).items()}
            try:
                for ev in app.ask_stream(
                    message,
                    history=hist,
                    style=STYLES.get(p["style"]),  # type: ignore[arg-type]
                    filters=Filters(date_from=p["date_from"] or None, date_to=p["date_to"] or None),
                    top_k=int(p["top_k"]) if p["top_k"] else None,
                    llm_settings=llm_settings_from(p, app.settings.llm),
                ):
                    if ev.kind == "sources" and ev.retrieval is not None:
                        yield chat, hist, render_sources(ev.retrieval.sources), "", gr.update(), gr.update()
                    elif ev.kind == "token":
                        chat[-1] = {"role": "assistant", "content": render_draft(ev.text)}
                        yield chat, hist, gr.update(), "", gr.update(), gr.update()
                    elif ev.kind == "final" and ev.answer is not None:
                        chat[-1] = {"role": "assistant", "content": render_answer(ev.answer)}
                        folder = Path(tempfile.mkdtemp(prefix="paperqa-export-"))
                        md, bib = folder / "answer.md", folder / "references.bib"
                        md.write_text(to_markdown(ev.answer), encoding="utf-8")
                        bib.write_text(to_bibtex(ev.answer), encoding="utf-8")
                        show = not ev.answer.refused
                        yield (
                            chat,
                            [*hist, message],
                            render_sources(ev.answer.sources),
                            "",
                            gr.update(value=str(md), visible=True),
                            gr.update(value=str(bib), visible=show),
                        )
            except PaperQAError as e:
                chat[-1] = {"role": "assistant", "content": f"⚠️ {html.escape(str(e))}"}
                yield chat, hist, gr.update(), "", hidden, hidden
            except Exception as e:  # never a traceback in the browser
                msg = f"⚠️ Something went wrong ({type(e).__name__}: {e}). The server log has details."
                print(f"paperqa ui: {type(e).__name__}: {e}", file=sys.stderr)
                chat[-1] = {"role": "assistant", "content": html.escape(msg)}
                yield chat, hist, gr.update(), "", hidden, hidden

        outputs = [chatbot, history_state, sources_html, box, md_btn, bib_btn]
        inputs = [box, chatbot, history_state, *setting_inputs]
        box.submit(respond, inputs, outputs, api_visibility="private")
        send.click(respond, inputs, outputs, api_visibility="private")
        new_chat.click(
            lambda: ([], [], render_sources([]), "", gr.update(visible=False), gr.update(visible=False)),
            None,
            outputs,
            api_visibility="private",
        )

        # ---- corpus ---------------------------------------------------------------
        def show_corpus(q: str) -> tuple[Any, list[str], str]:
            rows, ids = corpus_rows(app, q)
            return rows, ids, f"{len(rows)} papers"

        search.change(show_corpus, search, [table, corpus_ids, count], api_visibility="private")
        demo.load(show_corpus, search, [table, corpus_ids, count], api_visibility="private")

        def open_paper(ids: list[str], evt: gr.SelectData) -> str:
            row = evt.index[0] if isinstance(evt.index, list | tuple) else evt.index
            paper = app.index.papers().get(ids[row]) if 0 <= row < len(ids) else None
            if paper is None:
                return ""
            return (
                f'<div class="pqa-src"><b>{html.escape(paper.title)}</b><br><small>'
                f"{html.escape(_paper_line(paper))} · pages: {html.escape(', '.join(paper.pages))}</small>"
                f"<p>{html.escape(paper.abstract)}</p>{_links(paper)}</div>"
            )

        table.select(open_paper, corpus_ids, paper_view, api_visibility="private")

        def add_files(
            files: list[Any] | None,
            q: str,
            progress: gr.Progress = gr.Progress(),  # noqa: B008 (Gradio idiom)
        ) -> tuple[Any, ...]:
            if not files:
                rows, ids = corpus_rows(app, q)
                return "Choose one or more files first.", rows, ids, f"{len(rows)} papers"
            paths = [Path(getattr(f, "name", f)) for f in files]

            def step(done: int, total: int) -> None:
                progress(done / max(total, 1), desc=f"Indexing {done}/{total} papers")

            try:
                report = app.ingest_uploads(paths, progress=step)
                lines = [
                    f"**{report.added} added, {report.updated} updated, {report.unchanged} unchanged, "
                    f"{report.skipped} skipped** — {report.papers} papers in the corpus."
                ]
                lines += [
                    f"- skipped {html.escape(e.file)}{':' + str(e.line) if e.line else ''}: {html.escape(e.reason)}"
                    for e in report.errors
                ]
                summary = "\n".join(lines)
            except PaperQAError as e:
                summary = f"⚠️ {html.escape(str(e))} — nothing was added."
            rows, ids = corpus_rows(app, q)
            return summary, rows, ids, f"{len(rows)} papers"

        ingest_btn.click(
            add_files, [upload, search], [ingest_out, table, corpus_ids, count], api_visibility="private"
        )

        # ---- API for programs -------------------------------------------------------
        def ask(question: str) -> dict[str, Any]:
            """Answer a question from the paper corpus, with citations; returns the `paperqa ask --json` object."""
            try:
                return app.ask(question).to_json_dict()
            except PaperQAError as e:
                return {"question": question, "error": str(e)}

        api_in = gr.Textbox(visible=False)
        api_out = gr.JSON(visible=False)
        gr.Button(visible=False).click(ask, api_in, api_out, api_name="ask")

        def ask_json(question: str) -> str:
            """Answer a question from the paper corpus, with citations; returns the `paperqa ask --json`
            object as JSON text (for MCP clients: Gradio's MCP server would send /ask's dict as Python repr)."""
            return json.dumps(ask(question), ensure_ascii=False)

        api_text = gr.Textbox(visible=False)
        gr.Button(visible=False).click(ask_json, api_in, api_text, api_name="ask_json")
    return demo


LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def launch(settings: Settings, allow_remote_without_auth: bool = False) -> None:
    from tqdm import tqdm

    ui = settings.ui
    auth = None
    if ui.username and ui.password:
        auth = (ui.username, ui.password.get_secret_value())
    elif ui.host not in LOCAL_HOSTS:
        if not allow_remote_without_auth:
            raise PaperQAError(
                f"refusing to serve on {ui.host} without a password",
                hint="set PAPERQA_UI__USERNAME and PAPERQA_UI__PASSWORD, or pass --allow-remote-without-auth",
            )
        print(
            f"warning: serving on {ui.host} without a password; anyone who can reach it can use it",
            file=sys.stderr,
        )
    if ui.mcp:
        try:
            import mcp  # noqa: F401
        except ImportError as e:
            raise PaperQAError(
                "the MCP server's package `mcp` is missing from this install", hint="run `make install`"
            ) from e
    app = PaperQA(settings)
    if app.index.count() == 0:
        bar = tqdm(unit="paper", desc="First run: indexing the bundled corpus", file=sys.stderr)

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        app.ensure_corpus(progress=progress)
        bar.close()
    app.warm_up()
    demo = build(app)
    # Generation runs one at a time per llama.cpp model (a lock); retrieval and the rest of each
    # request run concurrently up to this limit, each session with its own state.
    demo.queue(default_concurrency_limit=ui.concurrency, max_size=64)
    print(f"PaperQA chat on http://{ui.host}:{ui.port}  ({len(app.papers())} papers)", file=sys.stderr)
    demo.launch(
        server_name=ui.host,
        server_port=ui.port,
        auth=auth,
        show_error=False,
        css=CSS,
        head=HEAD,
        theme=gr.themes.Soft(),
        mcp_server=ui.mcp,
        max_file_size=f"{settings.ui.max_upload_mb}mb",
        allowed_paths=[],
        quiet=True,
    )
