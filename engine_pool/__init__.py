"""Model serving for the show: one ``Engine`` protocol, a vLLM backend and an OpenAI-compatible one."""
