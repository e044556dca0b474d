"""The Gradio chat UI over `paperqa.api.PaperQA`.

`app` lays out the tabs and wires their events (and `launch` serves them); `render` turns
answers, sources, papers, reports and errors into the markup shown; `prefs` turns the settings
sidebar's choices into the options of a question. Only `app` imports Gradio.
"""
