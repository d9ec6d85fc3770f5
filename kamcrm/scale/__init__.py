"""The scale data generator (issue 7): `kamcrm generate --scale S [--seed N]`.

A believable organisation and data set at scale S (S=1: 300 people, 1M accounts, 5M contacts, 10M
timeline events, 1M opportunities with stage history), reproducible from a seed, written at bulk speed:
COPY on PostgreSQL, batched executemany on SQLite. See kamcrm/scale/generator.py for the plan and
kamcrm/scale/loader.py for the writer.
"""
