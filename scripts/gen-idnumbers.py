#!/usr/bin/env python3
"""Writes N resident ID numbers, one per line, for throughput benchmarks.

Usage: scripts/gen-idnumbers.py N OUTPUT [--seed S]

About 90% are valid under both Shiming's rule and python-stdnum's (a region code in use in
the birth year, a real birth date, the right check character); the rest have one digit
changed, as mistyped numbers do. Deterministic for a given seed, so runs are comparable.
"""
import argparse
import os
import random
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REGIONS = os.path.join(ROOT, "Sources", "IdentityRules", "Generated", "RegionTable+Data.swift")
WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def check_character(body):
    value = (12 - sum(int(c) * w for c, w in zip(body, WEIGHTS)) % 11) % 11
    return "X" if value == 10 else str(value)


def periods():
    """(code, first, last) for county-level codes, from the generated region table."""
    rows = []
    pattern = re.compile(r"^    (\d{6})\t(\d*)\t(\d*)\t")
    with open(REGIONS, encoding="utf-8") as source:
        for line in source:
            match = pattern.match(line)
            if match and not match.group(1).endswith("00") and not match.group(1).startswith(("81", "82", "83")):
                rows.append((match.group(1), int(match.group(2) or 1900), int(match.group(3) or 2026)))
    return rows


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("count", type=int)
    parser.add_argument("output")
    parser.add_argument("--seed", type=int, default=20261121)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    candidates = [row for row in periods() if row[2] - row[1] >= 1 and row[1] <= 2015]
    with open(args.output, "w") as out:
        for _ in range(args.count):
            code, first, last = rng.choice(candidates)
            year = rng.randint(max(first, 1930), min(last, 2015))
            month = rng.randint(1, 12)
            day = rng.randint(1, 28)
            body = f"{code}{year:04d}{month:02d}{day:02d}{rng.randint(0, 999):03d}"
            number = body + check_character(body)
            if rng.random() < 0.1:
                position = rng.randrange(17)
                replacement = str((int(number[position]) + rng.randint(1, 9)) % 10)
                number = number[:position] + replacement + number[position + 1:]
            out.write(number + "\n")


if __name__ == "__main__":
    main()
