"""Serving the chat: the login to ask for, the page's style and script, MCP behind the login,
and `launch` (what `paperqa serve` runs).

May touch: the network (binds the configured host and port), the index through `PaperQA`
(the bundled corpus is ingested on a first run), and standard error for the address and warnings.
"""

from __future__ import annotations

import os
import sys
import threading

import gradio as gr
from starlette.middleware import Middleware

from paperqa.api import PaperQA
from paperqa.errors import PaperQAError
from paperqa.settings import Settings, UISettings
from paperqa.store.files import private_dir

from .app import build
from .mcp_auth import MCPLogin, client_headers, loopback_token

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


LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
GRADIO_FOLDER = "gradio"  # under the data folder: Gradio's uploads and download copies


def _auth(ui: UISettings, allow_remote_without_auth: bool) -> tuple[str, str] | None:
    """The login to ask for; serving beyond this machine without one needs saying so, and half a
    login (a name without a password, or the reverse) is refused rather than served open."""
    if bool(ui.username) != bool(ui.password):
        missing = "PAPERQA_UI__PASSWORD" if ui.username else "PAPERQA_UI__USERNAME"
        raise PaperQAError(
            f"the login is half set: {missing} is missing", hint=f"set {missing} too, or neither"
        )
    if ui.username and ui.password:
        return ui.username, ui.password.get_secret_value()
    if ui.mcp_token is not None:
        print("warning: PAPERQA_UI__MCP_TOKEN is ignored without a login", file=sys.stderr)
    if ui.host not in LOCAL_HOSTS:
        if not allow_remote_without_auth:
            raise PaperQAError(
                f"refusing to serve on {ui.host} without a password",
                hint="set PAPERQA_UI__USERNAME and PAPERQA_UI__PASSWORD, or pass --allow-remote-without-auth",
            )
        print(
            f"warning: serving on {ui.host} without a password; anyone who can reach it can use it",
            file=sys.stderr,
        )
    return None


def launch(settings: Settings, allow_remote_without_auth: bool = False) -> None:
    from tqdm import tqdm

    ui = settings.ui
    auth = _auth(ui, allow_remote_without_auth)
    # Gradio's copies of uploads and exports stay in the data folder, private like it, unless
    # the operator chose a folder (a shared /tmp/gradio is readable by every account).
    if not os.environ.get("GRADIO_TEMP_DIR"):
        os.environ["GRADIO_TEMP_DIR"] = str(private_dir(settings.home / GRADIO_FOLDER))
    if ui.mcp:
        try:
            import mcp  # noqa: F401
        except ImportError as e:
            raise PaperQAError(
                "the MCP server's package `mcp` is missing from this install", hint="run `make install`"
            ) from e
    app = PaperQA(settings)
    if not app.has_papers():
        bar = tqdm(unit="paper", desc="First run: indexing the bundled corpus", file=sys.stderr)

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        app.ensure_corpus(progress=progress)
        bar.close()
    warming = app.warm_up_in_background()  # the models and the index load while the page is built
    demo = build(app)
    if ui.open_when_warm and warming.is_alive():
        print("Loading the models and the index before the page opens …", file=sys.stderr, flush=True)
        warming.join()
    # Generation runs one at a time per llama.cpp model (a lock); retrieval and the rest of each
    # request run concurrently up to this limit, each session with its own state.
    demo.queue(default_concurrency_limit=ui.concurrency, max_size=64)
    print(
        f"PaperQA chat on http://{ui.host}:{ui.port}  ({app.listed_paper_count():,} papers)", file=sys.stderr
    )
    # With a login, MCP clients authenticate each request (`mcp_auth`): Gradio's login is a form.
    token, ready = loopback_token(), threading.Event()
    guarded = bool(ui.mcp and auth)
    login = Middleware(MCPLogin, ui=ui, loopback_token=token, ready=ready)
    app_kwargs = {"middleware": [login]} if guarded else {}
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
        app_kwargs=app_kwargs,
        prevent_thread_lock=True,
        share=False,  # never a public tunnel (GRADIO_SHARE would open one around the login rule)
    )
    if guarded:
        _log_in_mcp_client(demo, token)
        ready.set()  # MCP requests held until now go on
    demo.block_thread()


def _log_in_mcp_client(demo: gr.Blocks, token: str) -> None:
    """Gradio's MCP server runs a queued tool through a client of its own, made on the first call
    with no credentials; made here instead, with a token `MCPLogin` takes for the login."""
    from gradio_client import Client

    server = getattr(demo, "mcp_server_obj", None)
    if server is None or not hasattr(server, "_client_instance"):
        raise PaperQAError(
            "this Gradio version's MCP server cannot be used with a login",
            hint="run `make install` (the tested Gradio), or serve MCP without PAPERQA_UI__USERNAME",
        )
    server._client_instance = Client(
        server.local_url or demo.local_url,
        download_files=False,
        verbose=False,
        analytics_enabled=False,
        headers=client_headers(token),
    )
