"""Print the agreement table (Cohen's kappa and span F1 per device) between two stand-off passes.

    python annotations/seed/tools/agreement.py annotations/seed/devices-test.jsonl \
        annotations/seed/devices-test-pass2.jsonl

Both files are loaded with `pipeline.standoff.load_standoff` (every unit and span checked against the
corpus under `../shared/data` or `$FRAMING_DATA_ROOT`); the first file is pass A, the reference of the
span scores. `--bootstrap N` adds a 95% percentile interval of each kappa from N resamples of the shared
units (seeded, so the interval is reproducible).
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from pipeline.agreement import (  # noqa: E402
    agreement_table,
    cohen_kappa,
    coverage,
    paired_units,
    span_agreement,
)
from pipeline.standoff import DEVICE_LABELS, AnnotatedUnit, load_standoff  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pass_a", type=Path)
    parser.add_argument("pass_b", type=Path)
    parser.add_argument("--bootstrap", type=int, default=0, metavar="N", help="resamples for kappa intervals")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    units_a, units_b = load_standoff(args.pass_a), load_standoff(args.pass_b)
    counts = coverage(units_a, units_b)
    print(f"units: A {counts['units_a']}, B {counts['units_b']}, both {counts['both']}")
    print(agreement_table(units_a, units_b))
    pairs = paired_units(units_a, units_b)
    for label in DEVICE_LABELS:
        both = [(a, b) for a, b in pairs if label in a.labels and label in b.labels]
        f1 = span_agreement([a for a, _ in both], [b for _, b in both], [label])[label]["f1"]
        print(f"{label}: span F1 {f1:.3f} on the {len(both)} units both passes mark positive")
    shared, same = actor_agreement(pairs)
    print(f"blame actor: {same} of {shared} units where both passes name an actor share an actor span")
    if args.bootstrap:
        for label in DEVICE_LABELS:
            low, high = kappa_interval([(label in a.labels, label in b.labels) for a, b in pairs], args)
            print(f"{label}: 95% bootstrap interval of kappa {low:.3f}-{high:.3f} ({args.bootstrap} resamples)")
    return 0


def actor_agreement(pairs: list[tuple[AnnotatedUnit, AnnotatedUnit]]) -> tuple[int, int]:
    """(units where both passes name a blamed actor, units where some actor span is the same in both)."""
    shared = same = 0
    for unit_a, unit_b in pairs:
        actors_a, actors_b = _actors(unit_a), _actors(unit_b)
        if actors_a and actors_b:
            shared += 1
            same += bool(actors_a & actors_b)
    return shared, same


def _actors(unit: AnnotatedUnit) -> set[tuple[int, int]]:
    return {
        (span.attributes["actor"]["start"], span.attributes["actor"]["end"])
        for span in unit.spans
        if span.label == "blame_attribution" and "actor" in span.attributes
    }


def kappa_interval(decisions: list[tuple[bool, bool]], args: argparse.Namespace) -> tuple[float, float]:
    """2.5th and 97.5th percentiles of kappa over resamples of the units (undefined resamples skipped)."""
    rng = random.Random(args.seed)
    kappas = []
    for _ in range(args.bootstrap):
        resample = [decisions[rng.randrange(len(decisions))] for _ in decisions]
        kappa = cohen_kappa(resample)["kappa"]
        if kappa is not None:
            kappas.append(kappa)
    kappas.sort()
    return kappas[int(0.025 * len(kappas))], kappas[int(0.975 * len(kappas)) - 1]


if __name__ == "__main__":
    sys.exit(main())
