"""Benchmarks for cognito-confirm: ``python benchmarks/run.py [--quick] [--rounds N]``.

Modules: ``fakeproc`` (the fake Cognito endpoint in its own process), ``alternatives`` (the
library and the clients it is compared with), ``scenarios`` (quota use, overhead, latency-bound:
alternatives alternated over rounds), ``memory`` (peak RSS of ``stream()`` in a child process),
``machine``, ``report`` (tables and targets) and ``cli`` (the command ``run.py`` starts).
"""
