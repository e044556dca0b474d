"""Gradio chat UI: a thin adapter over `paperqa.api.PaperQA` (the same API as the CLI).

No retrieval or answer logic lives here: only layout, formatting and event wiring.
"""

from __future__ import annotations

import html
import re
import sys
from collections.abc import Iterator
from typing import Any

import gradio as gr

from paperqa.api import PaperQA
from paperqa.errors import PaperQAError
from paperqa.settings import Settings
from paperqa.types import Answer, Source

CSS = """
.pqa-cite { cursor: help; font-weight: 600; color: var(--color-accent); text-decoration: none; }
.pqa-src { border-left: 3px solid var(--color-accent); padding: 4px 10px; margin-bottom: 10px; }
.pqa-src mark { background: rgba(255, 213, 79, .45); color: inherit; }
footer { display: none !important; }
"""


def _paper_line(s: Source) -> str:
    p = s.paper
    bits = [p.date or p.date_text or "undated"]
    if p.authors:
        bits.append(f"{p.authors} authors")
    if p.organization:
        bits.append(p.organization)
    if p.upvotes is not None:
        bits.append(f"▲ {p.upvotes}")
    return " · ".join(bits)


def render_answer(answer: Answer) -> str:
    """Answer text with hoverable citation markers, then its references."""
    by_n = {s.n: s for s in answer.sources}

    def cite(m: re.Match[str]) -> str:
        s = by_n.get(int(m.group(1)))
        if s is None:  # cannot happen after verification; never show an unresolved marker
            return ""
        tip = html.escape(f"{s.paper.title} — {_paper_line(s)}", quote=True)
        return f'<a class="pqa-cite" href="#src-{s.n}" title="{tip}">[{s.n}]</a>'

    body = re.sub(r"\[(\d+)\]", cite, answer.answer)
    cited = {c.n for c in answer.citations}
    refs = []
    for s in answer.sources:
        if answer.refused or s.n in cited:
            link = f" · [link]({s.paper.links[0]})" if s.paper.links else ""
            refs.append(f"{s.n}. **{s.paper.title}** — {_paper_line(s)}{link}")
    if refs:
        body += ("\n\n**Closest papers**\n" if answer.refused else "\n\n**References**\n") + "\n".join(refs)
    return body


def render_sources(sources: list[Source], evidence: bool = True) -> str:
    if not sources:
        return "_Sources appear here when you ask a question._"
    out = []
    for s in sources:
        abstract = html.escape(s.paper.abstract)
        if evidence:
            for ev in s.evidence:
                abstract = abstract.replace(html.escape(ev), f"<mark>{html.escape(ev)}</mark>")
        links = " ".join(
            f'<a href="{html.escape(u)}" target="_blank">{html.escape(u)}</a>' for u in s.paper.links
        )
        out.append(
            f'<div class="pqa-src" id="src-{s.n}"><b>[{s.n}] {html.escape(s.paper.title)}</b><br>'
            f"<small>{html.escape(_paper_line(s))} · score {s.score:.3f} · dense {s.dense:.2f}</small>"
            f"<details><summary>abstract</summary>{abstract}<br>{links}</details></div>"
        )
    return "\n".join(out)


def example_questions(app: PaperQA, n: int = 4) -> list[str]:
    """Questions drawn from the corpus itself: papers whose titles name a method."""
    named = [p for p in app.papers() if re.match(r"^[A-Z][\w\-^+.]*[A-Z0-9][\w\-]*: ", p.title)]
    named.sort(key=lambda p: (-(p.upvotes or 0), p.title))
    qs = [f"What does {p.title.split(':')[0]} propose, and what results does it report?" for p in named[:2]]
    if len(named) >= 4:
        a, b = named[2].title.split(":")[0], named[3].title.split(":")[0]
        qs.append(f"Compare {a} and {b}.")
    qs.append("Summarize what these papers report about reducing communication in distributed training.")
    return qs[:n]


def build(app: PaperQA) -> gr.Blocks:
    with gr.Blocks(title="PaperQA", fill_height=True) as demo:
        gr.Markdown(
            "## PaperQA\nAsk about the papers in the corpus. Every `[n]` links to a paper; "
            "claims the sources do not support are removed."
        )
        history_state = gr.State([])  # this browser session's user questions
        with gr.Row(equal_height=False):
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(
                    label="Chat", height=540, buttons=["copy", "copy_all"], elem_id="chat", sanitize_html=True
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
                gr.Examples(examples=example_questions(app), inputs=box, label="Try")
            with gr.Column(scale=2):
                gr.Markdown("### Sources")
                sources_md = gr.HTML(render_sources([]), elem_id="sources")

        def respond(message: str, chat: list[dict[str, Any]], hist: list[str]) -> Iterator[tuple[Any, ...]]:
            message = (message or "").strip()
            if not message:
                yield chat, hist, gr.update(), ""
                return
            chat = [*chat, {"role": "user", "content": message}, {"role": "assistant", "content": "…"}]
            yield chat, hist, gr.update(), ""
            try:
                for ev in app.ask_stream(message, history=hist):
                    if ev.kind == "sources" and ev.retrieval is not None:
                        yield chat, hist, render_sources(ev.retrieval.sources), ""
                    elif ev.kind == "token":
                        chat[-1] = {"role": "assistant", "content": ev.text + " ▍"}
                        yield chat, hist, gr.update(), ""
                    elif ev.kind == "final" and ev.answer is not None:
                        chat[-1] = {"role": "assistant", "content": render_answer(ev.answer)}
                        yield chat, [*hist, message], render_sources(ev.answer.sources), ""
            except PaperQAError as e:
                chat[-1] = {"role": "assistant", "content": f"⚠️ {e}"}
                yield chat, hist, gr.update(), ""
            except Exception as e:  # never a traceback in the browser
                chat[-1] = {
                    "role": "assistant",
                    "content": f"⚠️ Something went wrong: {type(e).__name__}: {e}",
                }
                yield chat, hist, gr.update(), ""

        outputs = [chatbot, history_state, sources_md, box]
        box.submit(respond, [box, chatbot, history_state], outputs, api_visibility="private")
        send.click(respond, [box, chatbot, history_state], outputs, api_visibility="private")
        new_chat.click(lambda: ([], [], render_sources([]), ""), None, outputs, api_visibility="private")

        def ask(question: str) -> dict[str, Any]:
            """Answer a question from the paper corpus; returns the `paperqa ask --json` object."""
            try:
                return app.ask(question).to_json_dict()
            except PaperQAError as e:
                return {"question": question, "error": str(e)}

        api_in = gr.Textbox(visible=False)
        api_out = gr.JSON(visible=False)
        api_btn = gr.Button(visible=False)
        api_btn.click(ask, api_in, api_out, api_name="ask")
    return demo


def launch(settings: Settings) -> None:
    from tqdm import tqdm

    app = PaperQA(settings)
    if app.index.count() == 0:
        bar = tqdm(unit="paper", desc="First run: indexing the bundled corpus", file=sys.stderr)

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        app.ensure_corpus(progress=progress)
        bar.close()
    app.warm_up()
    ui = settings.ui
    auth = None
    if ui.username and ui.password:
        auth = (ui.username, ui.password.get_secret_value())
    elif ui.host not in ("127.0.0.1", "localhost", "::1"):
        print(
            f"warning: serving on {ui.host} without a password; set PAPERQA_UI__USERNAME and "
            "PAPERQA_UI__PASSWORD",
            file=sys.stderr,
        )
    demo = build(app)
    demo.queue(default_concurrency_limit=ui.concurrency, max_size=64)
    print(f"PaperQA chat on http://{ui.host}:{ui.port}  ({len(app.papers())} papers)", file=sys.stderr)
    demo.launch(
        server_name=ui.host,
        server_port=ui.port,
        auth=auth,
        show_error=False,
        css=CSS,
        theme=gr.themes.Soft(),
        mcp_server=ui.mcp,
        quiet=True,
    )
