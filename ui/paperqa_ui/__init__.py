"""The Gradio chat UI over `paperqa.api.PaperQA`.

`app` lays out the tabs and wires their events (`views` groups their components); `serve` serves
them (`launch`, the login, MCP behind it with `mcp_auth`); `downloads` writes the exports;
`render` turns answers, sources,
papers, reports and errors into the markup shown; `prefs` turns the settings sidebar's choices
into the options of a question. Only `app`, `views` and `serve` import Gradio.

Importing the package applies PaperQA's offline defaults first: Gradio imports huggingface_hub,
which reads HF_HUB_OFFLINE once, at import.
"""

from paperqa.settings import apply_offline_defaults

apply_offline_defaults()
