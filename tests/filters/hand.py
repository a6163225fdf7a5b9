"""Helpers for the filter tests that train on hand-made token lists."""

from __future__ import annotations

import math
from collections.abc import Sequence


def train_tokens(f, ham: Sequence[Sequence[str]], spam: Sequence[Sequence[str]]):
    """``f`` after learning every list in ``ham`` as ham, then every one in ``spam`` as spam."""
    for toks, is_spam in [(t, False) for t in ham] + [(t, True) for t in spam]:
        f.learn_tokens(toks, is_spam)
    return f


def logit(p: float) -> float:
    """ln(p / (1 - p)), with p kept inside (0, 1) so certainties stay finite."""
    p = min(max(p, 1e-300), 1.0 - 1e-16)
    return math.log(p) - math.log1p(-p)
