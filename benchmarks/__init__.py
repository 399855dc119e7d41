"""Benchmarks for cognito-confirm: ``python benchmarks/run.py [--quick | --smoke] [--production]``.

Modules, each importing only those listed before it: ``checks`` (targets and plain tables),
``fakeproc`` (the fake Cognito endpoint in its own process), ``machine``, ``live`` (live
sign-ups: steady, spiking, growing), ``figures`` (issue 16's figures and targets, computed in
one place), ``alternatives`` (the library and the clients it is compared with), ``worker`` (one
migration process of several, and the pool that starts them), ``scenarios`` (1-3: quota use,
overhead, latency-bound, alternated over rounds), ``memory`` (4), ``sharing`` (5), ``webservice``
(6), ``auto`` (7), ``production`` (8-11: production's traffic), ``report`` (the printed report),
``cli`` (the command ``run.py`` starts). ``slow`` runs scenario 10 alone; ``pacer_sim`` (the
pacer on a virtual clock) and ``awscli`` stand apart.
"""
