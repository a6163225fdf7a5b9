"""Where a classification's time goes, with and without the compiled loops.

For the filter of the benchmark's ``svm-sender-robinson-cv`` row (``SVMSenderRobinson``
with the parameters that ``benchmarks/filters.py`` chose by cross-validation in its runs
of 29 Nov; without the origin signals of the later ``svm-origin-cv`` row) trained on the
training half of the MD5 split, this measures the CPU time (``time.process_time``, best
of ``--repeat``) of each stage on the 3,059 test messages held in memory:

* tokenize: ``labkit.filters.tokenize`` of every message;
* rank: SenderRobinson's ``rank_tokens`` on freshly tokenized messages (fresh strings:
  their hashes are not cached yet, as in real use);
* SVM margin: ``svm_margins`` of all messages;
* fill + index: computing the f(w) table (and the compiled look-up's index) from cold;
* classify: ``classify_many`` of all messages, warm and from a cold f(w) table.

It runs once in this process (the compiled modules as built) and once in a child
process with ``LABKIT_PURE_PYTHON=1``, checks that both give the same ranks (a SHA-256
of the ranks' bytes), and prints a Markdown table.  When no compiled module is in use
(not built, or ``LABKIT_PURE_PYTHON`` set) there is nothing to compare: it stops with
exit code 2.  Usage::

    python benchmarks/filters_stages.py --source /work/shared/corpora/spamassassin
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import struct
import subprocess
import sys
import time

#: the words' parameters and SVM weight chosen by cross-validation in benchmarks/filters.py
PARAMS = dict(strength=0.0178, prior=0.52, min_dev=0.45, max_discriminators=2000,
              reputation=0.2, weight=0.3)


def _best(fn, repeat: int, before=None) -> float:
    """The least CPU seconds of ``repeat`` calls of ``fn`` (``before`` runs untimed first)."""
    best = float("inf")
    for _ in range(repeat):
        arg = before() if before is not None else None
        t = time.process_time()
        fn(arg)
        best = min(best, time.process_time() - t)
    return best


def measure(source: str, repeat: int) -> dict:
    """The stages' CPU times (microseconds per test message) in this process."""
    from labkit.filters import batch, compiled, corpus, ensemble, evaluate
    from labkit.filters.tokens import tokenize

    split = evaluate.split_md5(corpus.load(source))
    raws = [m.raw for m in split.test]
    n = len(raws)
    f = ensemble.SVMSenderRobinson(**PARAMS).train(split.train, progress=False)
    words = f.words
    f._warm()

    def cold() -> None:
        words._changed()

    out = {
        "compiled": [name for name, ok in compiled.status().items() if ok],
        "tokenize": _best(lambda _: [tokenize(r) for r in raws], repeat),
        "rank": _best(lambda toks: [words.rank_tokens(t) for t in toks], repeat,
                      before=lambda: [tokenize(r) for r in raws]),
        "svm margin": _best(lambda _: f.svm_margins(raws), repeat),
        "classify, warm": _best(lambda _: batch.classify_many(f, raws, progress=False),
                                repeat),
        "classify, cold": _best(lambda _: batch.classify_many(f, raws, progress=False),
                                repeat, before=cold),
    }
    fill = _best(lambda _: words._warm(), repeat, before=cold)
    ranks = batch.classify_many(f, raws, progress=False).ranks
    us = {k: v / n * 1e6 for k, v in out.items() if k != "compiled"}
    us["fill + index (once; per message)"] = fill / n * 1e6
    return {
        "compiled": out["compiled"],
        "messages": n,
        "fill_ms": fill * 1e3,
        "us": us,
        "ranks_sha256": hashlib.sha256(b"".join(struct.pack("<d", r) for r in ranks)).hexdigest(),
    }


def main() -> None:
    """Measure here and in a Python-only child; print the comparison table."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--source", required=True, help="the SpamAssassin corpus folder")
    p.add_argument("--repeat", type=int, default=3, help="best of this many runs (default 3)")
    p.add_argument("--json", action="store_true", help="print this process's numbers as JSON")
    args = p.parse_args()
    if not args.json:
        from labkit.filters import compiled

        if not any(compiled.status().values()):
            p.error("no compiled filter module is in use here (LABKIT_PURE_PYTHON is set, or this "
                    "checkout's were not built: `pip install -e .` builds them with a C compiler), "
                    "so both columns would run the same Python code")
    here = measure(args.source, args.repeat)
    if args.json:
        print(json.dumps(here))
        return
    env = dict(os.environ, LABKIT_PURE_PYTHON="1")
    child = subprocess.run([sys.executable, __file__, "--source", args.source, "--repeat",
                            str(args.repeat), "--json"], env=env, capture_output=True,
                           text=True, check=True)
    pure = json.loads(child.stdout)
    same = "same" if pure["ranks_sha256"] == here["ranks_sha256"] else "DIFFERENT"
    print(f"{here['messages']} test messages; CPU per message, best of {args.repeat}; "
          f"compiled modules: {', '.join(here['compiled']) or 'none'}; ranks {same} "
          f"(sha256 {here['ranks_sha256'][:16]})\n")
    print("| stage | Python only, us | compiled, us | x faster |")
    print("|---|---|---|---|")
    for stage, fast in here["us"].items():
        slow = pure["us"][stage]
        print(f"| {stage} | {slow:.1f} | {fast:.1f} | {slow / fast:.1f} |")
    if same != "same":
        raise SystemExit("the compiled and the Python ranks differ")


if __name__ == "__main__":
    main()
