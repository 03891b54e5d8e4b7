"""Evaluation harness of the NPO-assistent: golden set, metrics, naive baseline, runner, benchmark.

Run ``python -m evals --help``.
"""
