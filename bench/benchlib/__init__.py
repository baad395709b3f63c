"""The parts of bench/bench.py, one job a module:

  common      REPO, the cache folder, log(), the child environment, commit and machine
  seed_cache  `bsocial seed` once per parameter set, cached in .bench-cache/
  postgres    the benchmark's PostgreSQL cluster, seeded templates, a copy per run
  server      `bsocial serve` (the test kit's ServerProcess) with the bench's environment
  scenarios   user shapes, logins, deep cursors, ratios, run names
  wrk         request files, wrk runs, one scenario measured
  report      the terminal table and docs/benchmarks.md
  plots       docs/benchmarks.png and benchmarks-scale.png

The other bench scripts use common, server and the test kit (bsocial_testkit) too.
"""
