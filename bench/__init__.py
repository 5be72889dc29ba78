"""Benchmark suite: the product against a bare `websockets` relay, on loopback. See bench/README.md."""
