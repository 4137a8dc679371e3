"""Contestants: from a team's submission to the stage.

A team registers a contestant on a base model from the studio's registry with one of: a LoRA
adapter (folder or archive), an SFT dataset or DPO preference pairs. ``intake`` checks all of it
before anything runs; ``training`` turns datasets into adapters with ms-swift in a separate
process under a budget; ``qualification`` scores the served contestant with EvalScope; the show
then serves the adapter on the shared base engine (``engine_pool.vllm_engine``, a ``LoRARequest``
per contestant).
"""
