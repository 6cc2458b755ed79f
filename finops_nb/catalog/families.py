"""EC2 instance families: previous generation -> current generation, x86 -> Graviton peer, with price ratios.

A small table on purpose: the families seen most in bills. ``ratio`` is the peer's on-demand Linux price
divided by the family's, at the ``.large`` size in us-east-1 (within these families the price doubles with
each size, so the ratio holds for every size). Prices from https://aws.amazon.com/ec2/pricing/on-demand/
(us-east-1, Linux, on demand), transcribed on ``PRICES_AS_OF``; no network here to re-read the page, so check
it before relying on a figure. Previous-generation families as listed on
https://aws.amazon.com/ec2/previous-generation/. Graviton peers as recommended by AWS Compute Optimizer's CPU
architecture preference (https://docs.aws.amazon.com/compute-optimizer/latest/ug/ec2-rightsizing-preferences.html)
and the Graviton getting-started guide (https://github.com/aws/aws-graviton-getting-started).

Graviton runs Linux only: a Windows instance has no Graviton peer.
"""

from __future__ import annotations

from typing import NamedTuple

PRICES_SOURCE = "https://aws.amazon.com/ec2/pricing/on-demand/ (us-east-1, Linux, .large)"
PRICES_AS_OF = "2026-12-03"


class Peer(NamedTuple):
    family: str
    ratio: float  # peer price / family price
    prices: str  # the two .large prices per hour the ratio comes from


# previous generation -> the current x86 family of the same kind
CURRENT_GENERATION: dict[str, Peer] = {
    "m4": Peer("m5", 0.096 / 0.10, "m4.large 0.100, m5.large 0.096"),
    "c4": Peer("c5", 0.085 / 0.10, "c4.large 0.100, c5.large 0.085"),
    "r4": Peer("r5", 0.126 / 0.133, "r4.large 0.133, r5.large 0.126"),
    "t2": Peer("t3", 0.0832 / 0.0928, "t2.large 0.0928, t3.large 0.0832"),
}

# x86 family -> Graviton peer of the same kind
GRAVITON: dict[str, Peer] = {
    "m5": Peer("m6g", 0.077 / 0.096, "m5.large 0.096, m6g.large 0.077"),
    "m6i": Peer("m6g", 0.077 / 0.096, "m6i.large 0.096, m6g.large 0.077"),
    "m7i": Peer("m7g", 0.0816 / 0.1008, "m7i.large 0.1008, m7g.large 0.0816"),
    "m7i-flex": Peer("m7g", 0.0816 / 0.09576, "m7i-flex.large 0.09576, m7g.large 0.0816"),
    "c5": Peer("c6g", 0.068 / 0.085, "c5.large 0.085, c6g.large 0.068"),
    "c6i": Peer("c6g", 0.068 / 0.085, "c6i.large 0.085, c6g.large 0.068"),
    "r5": Peer("r6g", 0.1008 / 0.126, "r5.large 0.126, r6g.large 0.1008"),
    "r6i": Peer("r6g", 0.1008 / 0.126, "r6i.large 0.126, r6g.large 0.1008"),
    "t3": Peer("t4g", 0.0672 / 0.0832, "t3.large 0.0832, t4g.large 0.0672"),
}


def family_of(instance_type: str | None) -> str | None:
    """``m5.large`` -> ``m5``; ``m7i-flex.xlarge`` -> ``m7i-flex``; ``db.r5.large`` -> ``None`` (not EC2)."""
    if not isinstance(instance_type, str) or "." not in instance_type:
        return None
    head, _, size = instance_type.partition(".")
    return None if head in {"db", "cache", "ml"} or not size else head.lower()


def current_generation_peer(instance_type: str | None) -> Peer | None:
    return CURRENT_GENERATION.get(family_of(instance_type) or "")


def graviton_peer(instance_type: str | None, operating_system: str | None) -> Peer | None:
    """The Graviton peer of an x86 instance type; ``None`` for Windows (Graviton runs Linux only), for an unknown
    operating system (it might be Windows) and for families without a peer."""
    if not isinstance(operating_system, str) or not operating_system or "windows" in operating_system.lower():
        return None
    return GRAVITON.get(family_of(instance_type) or "")
