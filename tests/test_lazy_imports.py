"""A Lab that never uses the SVM filter or the scikit-learn peer does not load numpy or
scikit-learn: on a hub every learner's kernel would carry them (about 15 MiB and an
OpenBLAS thread for numpy alone, measured in benchmarks/RESULTS-mta.md)."""

from __future__ import annotations

import json
import subprocess
import sys

_PROBE = """
import json, sys
import labkit
lab = labkit.Lab()
lab.start()
try:
    assert lab.scorer is not None  # the receiver's default SpamScorer
finally:
    lab.stop()
before = {m: m in sys.modules for m in ("numpy", "sklearn")}
import labkit.filters as F
klass = F.SVMSenderRobinson
print(json.dumps({"before": before, "after": "numpy" in sys.modules,
                  "module": klass.__module__, "same": klass is F.ensemble.SVMSenderRobinson}))
"""


def test_a_lab_starts_without_numpy_and_the_svm_filter_still_loads_on_use():
    out = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True,
                         timeout=120)
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen["before"] == {"numpy": False, "sklearn": False}
    assert seen["after"] is True  # asking for the class imports its module
    assert seen["module"] == "labkit.filters.ensemble"
    assert seen["same"] is True
