"""Test doubles for the engine's model interface: a scripted ChatModel and a tiny random Qwen2 checkpoint.

For tests, benchmarks and demos only. No production package imports this one (an import-linter contract
checks it), and the wheel does not ship it (pyproject's package list leaves it out).
"""
