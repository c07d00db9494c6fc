"""Benchmarks: minigrad side by side with PyTorch and the teaching engines (``python -m minigrad.bench``)."""
