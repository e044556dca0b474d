"""Answer: a question in, a verified, cited `Answer` out. Retrieval over the store (`retrieve`),
question analysis (`question`), evidence ranking (`evidence`), the sentences that lead (`lead`),
composing the lead and tables (`compose`) and summaries (`summarize`), the LLM (`llm`),
verification (`verify`, `citations`), and the engine with its style table (`engine`).

May import: the shared modules and `store`; nothing of the adapters (api, cli, ui, llamaindex).
"""
