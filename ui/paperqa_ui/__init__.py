"""The chat UI (`app.py`). Importing the package applies PaperQA's offline defaults first: Gradio
imports huggingface_hub, which reads HF_HUB_OFFLINE once, at import."""

from paperqa.settings import apply_offline_defaults

apply_offline_defaults()
