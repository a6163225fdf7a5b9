"""Cross-validation tables for the spam filters, on the TRAINING half of the MD5 split only.

    python benchmarks/filters_cv.py [--source DIR] [--seeds 0 1 2] [--halves 5] [--tie 0.0001]

Nothing here touches the test half (MD5 first hex digit >= 8): the corpus is split with
``labkit.filters.evaluate.split_md5`` and only ``split.train`` is tokenised and used.

Tables printed (markdown):

1. repeated 5-fold CV (the same seeded folds for every candidate, see
   ``labkit.filters.tuning.seeded_folds``): (1-AUC)% per seed and mean, and sm% at zero
   CV false positives, for Robinson and Fisher over ``tuning.GRID`` (the current
   ``robinson-cv``/``fisher-cv`` setting is the last grid row), for ``SenderRobinson``
   (``labkit.filters.reputation``) over ``tuning.REPUTATIONS`` on top of the best
   Robinson setting, for ``GradedSenderRobinson`` (``labkit.filters.graded``, round 2)
   over ``graded.GRID``, for an exploratory
   online logistic regression on the same tokens (defined below, not a library filter),
   and (``--families svm``, round 6) for ``SVMSenderRobinson``
   (``labkit.filters.ensemble``: SenderRobinson's rank plus ``weight`` times a linear
   SVM's margin on character 4-grams) over ``ensemble.WEIGHTS``, with the SVM alone
   and weight 0 (= the SenderRobinson it builds on) as reference rows;
2. the operating-threshold rule tried the way it will be used: the training half is cut
   in two by a seeded hash; the rule (``tuning.choose`` with a given margin) sees one
   half only, a filter trained on that half scores the other, and the false positives
   and sm% there are counted.  Both directions, ``--halves`` seeds.  Besides the
   margin rule, two tail rules (round 2, exploration): an exponential fit to the top
   ``k`` out-of-fold hams (``evt``) and the top ham plus ``c`` times the top-to-k-th
   ham gap (``gap``).

Round 7 (``--families origin``): ``SVMSenderRobinson`` weight 0.3 without and with the
origin relay's two signals (:data:`ORIGIN`, :mod:`labkit.filters.origin`), CV rows from
``ensemble.choose`` itself (one ``cv_ranks`` per seed, both settings read from it), then
the 20 half-split threshold trials over :data:`ORIGIN_MARGINS` for both (the CV inside
each trial on ``tuning.SEEDS``, as the benchmark's ``choose`` does).

Round 9 (``--families ceiling --halves 10``): the best ranking's ceiling: in each of the
20 half-split trials, the spam missed at zero FP when the threshold is set on the held-out
half itself (no threshold rule can do better), and who the top held-out ham is.

Round 2 was run as ``--families graded --halves 10``: half-split seeds 0-4 are the
trials round 1 chose its margin on, seeds 5-9 are fresh.

The write-up is benchmarks/CV-filters.md.
"""

from __future__ import annotations

import argparse
import email
import email.utils
import hashlib
import math
import os
import random
import statistics
import sys
import time
from pathlib import Path

import labkit as lk
from labkit.filters import ensemble as EN
from labkit.filters import evaluate as E
from labkit.filters import graded as G
from labkit.filters import tuning as T
from labkit.filters.reputation import SenderRobinson
from labkit.filters.tokens import tokenize

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpora" / "spamassassin"
MARGINS = (0.0, 0.05, 0.1, 0.2, 0.3, 0.35, 0.4)
#: exploratory logistic regression settings (learning rate, passes, train-on-or-near-error margin)
LOGISTIC = ({"rate": 0.05, "passes": 6, "margin": 3.0},)
#: round 7: the origin relay's weights (fixed by the exploration, not searched here)
ORIGIN = {"clean_origin": 0.1, "aligned_origin": 0.2}
#: round 7: the threshold margins tried in the origin family's half-split trials
ORIGIN_MARGINS = (0.0, 0.1, 0.2, 0.25, 0.3, 0.35)


def logistic_ranks(train, test, sets, *, rate, passes, margin, seed=0):
    """Online logistic regression on binary token features (exploration only).

    w(t) for each distinct token, bias b; p = 1 / (1 + e^-(b + sum w)); after each
    training message w(t) += rate * (y - p) for its tokens, in ``passes`` shuffled
    passes; with ``margin``, messages already beyond +-margin are skipped (TONE).
    """
    w: dict[str, float] = {}
    b = 0.0
    order = list(train)
    rnd = random.Random(seed)
    for _ in range(passes):
        rnd.shuffle(order)
        for m in order:
            x = sets[m.name]
            z = b + sum([w.get(t, 0.0) for t in x])
            if margin is not None and (z > margin if m.spam else z < -margin):
                continue
            p = 1.0 / (1.0 + math.exp(-max(min(z, 50.0), -50.0)))
            g = rate * ((1.0 if m.spam else 0.0) - p)
            for t in x:
                w[t] = w.get(t, 0.0) + g
            b += g
    return {m.name: b + sum([w.get(t, 0.0) for t in sets[m.name]]) for m in test}


def logistic_row(train, sets, seeds, **cfg):
    aucs, sms = [], []
    for seed in seeds:
        ranks = {}
        for split in T.seeded_folds(train, 5, seed):
            ranks.update(logistic_ranks(split.train, split.test, sets, **cfg))
        labels = [m.spam for m in train]
        rs = [ranks[m.name] for m in train]
        aucs.append(100 * (1 - E.auc(labels, rs)))
        top = max(r for r, y in zip(rs, labels, strict=True) if not y)
        spam = [r for r, y in zip(rs, labels, strict=True) if y]
        sms.append(100 * sum(1 for r in spam if r <= top) / len(spam))
    return aucs, sms


def fmt_row(name, aucs, sms):
    return (
        f"| {name} | "
        + " | ".join(f"{v:.4f}" for v in aucs)
        + f" | **{statistics.fmean(aucs):.4f}** | "
        + " / ".join(f"{v:.1f}" for v in sms)
        + " |"
    )


def halves(train, seed):
    side = {
        m.name: int(hashlib.md5(f"half{seed}:{m.name}".encode()).hexdigest(), 16) % 2 for m in train
    }
    a = tuple(m for m in train if side[m.name] == 0)
    b = tuple(m for m in train if side[m.name] == 1)
    return (a, b), (b, a)


def evt_rule(k, expected_fp):
    """Exponential tail fitted to the top ``k`` CV hams of each seed (peaks over the
    (k+1)-th, mean excess beta): the rank where ``expected_fp`` hams of a set as large
    as the fitted one would lie above, u + beta ln(k / expected_fp); highest over seeds."""

    def rule(hams_per_seed, spam_per_seed):
        cuts = []
        for hams in hams_per_seed:
            top = sorted(hams, reverse=True)[: k + 1]
            beta = statistics.fmean(r - top[k] for r in top[:k])
            cuts.append(top[k] + beta * math.log(k / expected_fp))
        return max(cuts)

    return rule


def gap_rule(c, k):
    """The top CV ham plus ``c`` times the mean gap from the top to the k-th CV ham."""

    def rule(hams_per_seed, spam_per_seed):
        tops = [sorted(h, reverse=True) for h in hams_per_seed]
        return max(t[0] for t in tops) + c * statistics.fmean(t[0] - t[k] for t in tops)

    return rule


def margin_rule(mg):
    """``tuning.choose``'s rule: ``mg`` of the way from the top CV ham of any seed to
    the median of the per-seed median CV spam."""

    def rule(hams_per_seed, spam_per_seed):
        top = max(max(h) for h in hams_per_seed)
        med = statistics.median(statistics.median_low(s) for s in spam_per_seed)
        return top + mg * max(med - top, 0.0)

    return rule


def rules(tail: bool, margins=MARGINS) -> dict:
    out = {f"margin {mg:g}": margin_rule(mg) for mg in margins}
    if tail:
        for k in (10, 20, 40):
            for efp in (0.5, 0.2, 0.1):
                out[f"evt k={k} fp={efp:g}"] = evt_rule(k, efp)
        for k in (5, 10):
            for c in (0.5, 1, 2):
                out[f"gap k={k} c={c:g}"] = gap_rule(c, k)
    return out


def count_rules(rule_fns, cv_hams, cv_spam, ranks, out):
    """Append (FP, n ham, sm%) of the held-out ``ranks`` ((rank, spam) pairs) at each
    rule's cut (set from the CV ranks) to ``out[rule name]``."""
    hams = [r for r, y in ranks if not y]
    spam = [r for r, y in ranks if y]
    for name, rule in rule_fns.items():
        cut = rule(cv_hams, cv_spam)
        fp = sum(1 for r in hams if r >= cut)
        sm = 100 * sum(1 for r in spam if r < cut) / len(spam)
        out[name].append((fp, len(hams), sm))


def rule_trials(klass, params, train, tokens, n_halves, seeds, tail=False):
    """Per rule: list of (FP, n ham, sm%) on the held-out half of each trial."""
    rule_fns = rules(tail)
    out = {name: [] for name in rule_fns}
    for seed in range(n_halves):
        for fit, held in halves(train, seed):
            # one repeated CV per trial; every rule reads the same out-of-fold ranks
            cv = [
                T.cv_ranks(lambda: klass(**params), fit, tokens, seed=f"{seed}/{s}") for s in seeds
            ]
            cv_hams = [[r[m.name] for m in fit if not m.spam] for r in cv]
            cv_spam = [[r[m.name] for m in fit if m.spam] for r in cv]
            f = klass(**params)
            for m in fit:
                f.learn_tokens(tokens[m.name], m.spam)
            ranks = [(f.rank_tokens(tokens[m.name]), m.spam) for m in held]
            count_rules(rule_fns, cv_hams, cv_spam, ranks, out)
            print(f"  trial {seed} ({len(fit)} -> {len(held)}) done", file=sys.stderr)
    return out


def svm_rows(train, tokens, base, seeds):
    """Round 6: out-of-fold (SenderRobinson rank, SVM margin) per seed from
    ``ensemble.cv_ranks`` (one fit of each per fold), then every weight from the same
    arrays.  Returns [(label, params or None, aucs, sms)] and the per-seed arrays."""
    labels = [m.spam for m in train]
    per_seed = [
        EN.cv_ranks(lambda: EN.SVMSenderRobinson(**base), train, seed=s, tokens=tokens)
        for s in seeds
    ]

    def figures(combine):
        aucs, sms = [], []
        for words, svm in per_seed:
            ranks = [combine(words[m.name], svm[m.name]) for m in train]
            aucs.append(100 * (1 - E.auc(labels, ranks)))
            top = max(r for r, y in zip(ranks, labels, strict=True) if not y)
            spam = [r for r, y in zip(ranks, labels, strict=True) if y]
            sms.append(100 * sum(1 for r in spam if r <= top) / len(spam))
        return aucs, sms

    rows = [("svm alone (char 4-grams, C 100)", None, *figures(lambda w, s: s))]
    for wt in (0.0, *EN.WEIGHTS):
        rows.append((f"svm-sender-robinson weight {wt:g}", {**base, "weight": wt},
                     *figures(lambda w, s, wt=wt: w + wt * s)))
    return rows


def trial_row(label, rule, res):
    """One Markdown row of a threshold-trial table: (FP, n ham, sm%) per trial."""
    fps = [fp for fp, _, _ in res]
    sms = [sm for _, _, sm in res]
    return (f"| {label} | {rule} | {sum(1 for x in fps if x == 0)}/{len(fps)} | "
            f"{' '.join(map(str, fps))} | {statistics.fmean(sms):.1f} | "
            f"{min(sms):.1f}-{max(sms):.1f} |")


def trial_cv_ranks(base, fit, tokens, seed, seeds):
    """One half-split trial's out-of-fold (words rank, SVM margin) dicts, per CV seed, of
    ``SVMSenderRobinson(**base)`` on the trial's ``fit`` half (seeds named "trial/seed")."""
    return [
        EN.cv_ranks(lambda: EN.SVMSenderRobinson(**base), fit, seed=f"{seed}/{s}", tokens=tokens)
        for s in seeds
    ]


def svm_rule_trials(params, train, tokens, n_halves, seeds):
    """``rule_trials`` for ``SVMSenderRobinson`` (not a token filter): per margin rule,
    (FP, n ham, sm%) on the held-out half of each trial."""
    rule_fns = rules(False)
    out = {name: [] for name in rule_fns}
    wt = params["weight"]
    base = {k: v for k, v in params.items() if k != "weight"}
    for seed in range(n_halves):
        for fit, held in halves(train, seed):
            cv = trial_cv_ranks(base, fit, tokens, seed, seeds)
            cv = [{n: w[n] + wt * v[n] for n in w} for w, v in cv]
            cv_hams = [[r[m.name] for m in fit if not m.spam] for r in cv]
            cv_spam = [[r[m.name] for m in fit if m.spam] for r in cv]
            f = EN.SVMSenderRobinson(**params).train(fit, progress=False)
            ranks = list(zip(f.log_odds_many([m.raw for m in held]), [m.spam for m in held], strict=True))
            count_rules(rule_fns, cv_hams, cv_spam, ranks, out)
            print(f"  trial {seed} ({len(fit)} -> {len(held)}) done", file=sys.stderr)
    return out


def origin_rows(train, tokens, base, seeds, weight=0.3):
    """Round 7: the CV rows of ``SVMSenderRobinson`` (``weight``) without and with the
    origin relay's signals, from ``ensemble.choose`` (library code) on one ``cv_ranks``
    per seed.  Returns [(label, tuning.CVRow)]."""
    per_seed = [
        EN.cv_ranks(lambda: EN.SVMSenderRobinson(**base), train, seed=s, tokens=tokens)
        for s in seeds
    ]
    out = []
    for label, origin in (("svm-sender-robinson weight 0.3 (baseline)", {}),
                          (f"svm-sender-robinson weight 0.3, clean_origin "
                           f"{ORIGIN['clean_origin']:g}, aligned_origin {ORIGIN['aligned_origin']:g}",
                           ORIGIN)):
        c = EN.choose(train, tokens, base=base, weights=(weight,), seeds=seeds, cv=per_seed,
                      **origin)
        out.append((label, c.rows[0]))
    return out


def origin_rule_trials(params, train, tokens, n_halves, seeds=T.SEEDS, margins=ORIGIN_MARGINS):
    """Round 7's half-split trials: per variant (baseline, origin) and margin rule,
    (FP, n ham, sm%) on the held-out half.  One CV and one filter per trial serve both
    variants; the CV ranks are combined as ``ensemble.choose`` combines them and the
    held-out ranks are the library's ``log_odds_many`` with each variant's weights."""
    rule_fns = rules(False, margins)
    variants = {"baseline": {"clean_origin": 0.0, "aligned_origin": 0.0}, "origin": ORIGIN}
    out = {v: {name: [] for name in rule_fns} for v in variants}
    wt = params["weight"]
    base = {k: v for k, v in params.items() if k not in ("weight", *ORIGIN)}
    for seed in range(n_halves):
        for fit, held in halves(train, seed):
            cv = trial_cv_ranks(base, fit, tokens, seed, seeds)
            f = EN.SVMSenderRobinson(**base, weight=wt).train(fit, progress=False)
            raws = [m.raw for m in held]
            for v, weights in variants.items():
                shift = {m.name: EN.origin_shift(m.raw, **weights) for m in fit}
                ranks_cv = [{n: w[n] + wt * s[n] - shift[n] for n in w} for w, s in cv]
                cv_hams = [[r[m.name] for m in fit if not m.spam] for r in ranks_cv]
                cv_spam = [[r[m.name] for m in fit if m.spam] for r in ranks_cv]
                # the same trained filter with this variant's weights (no refit needed)
                f.clean_origin, f.aligned_origin = weights["clean_origin"], weights["aligned_origin"]
                ranks = list(zip(f.log_odds_many(raws), [m.spam for m in held], strict=True))
                count_rules(rule_fns, cv_hams, cv_spam, ranks, out[v])
            print(f"  trial {seed} ({len(fit)} -> {len(held)}) done", file=sys.stderr)
    return out


def ceiling_trials(params, train, n_halves):
    """The ranking's ceiling in each half-split trial: the spam ranked at or below the
    top held-out ham (sm% at zero FP with the threshold set on the held-out half itself,
    which no threshold rule can beat), the same without that ham, and who the top ham is
    (folder/name, From domain, and whether that domain sends any message of the fit half).
    Returns one tuple per trial."""
    def domain(m):
        addr = email.utils.parseaddr(str(email.message_from_bytes(m.raw).get("From", "")))[1]
        return addr.rpartition("@")[2].lower()

    out = []
    for seed in range(n_halves):
        for fit, held in halves(train, seed):
            f = EN.SVMSenderRobinson(**params).train(fit, progress=False)
            ranks = f.log_odds_many([m.raw for m in held])
            hams = sorted(((r, m) for r, m in zip(ranks, held, strict=True) if not m.spam),
                          key=lambda t: -t[0])
            spam = [r for r, m in zip(ranks, held, strict=True) if m.spam]
            sm = [100 * sum(r <= hams[i][0] for r in spam) / len(spam) for i in (0, 1)]
            top = hams[0][1]
            seen = domain(top) in {domain(m) for m in fit}
            out.append((seed, sm[0], sm[1], f"{top.folder}/{top.name[:5]}", domain(top), seen))
            print(f"  trial {seed} ({len(fit)} -> {len(held)}) done", file=sys.stderr)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--source", help="corpus folder (default: LABKIT_CORPUS, ../shared/corpora)")
    ap.add_argument("--seeds", type=int, nargs="+", default=list(T.SEEDS))
    ap.add_argument("--halves", type=int, default=5, help="seeds of the half-split trials")
    ap.add_argument(
        "--families",
        nargs="+",
        default=["robinson", "fisher", "sender", "logistic"],
        help="what to run; without robinson, the reputation rows still build on the "
        "Robinson setting tuning.choose picks",
    )
    ap.add_argument(
        "--tie",
        type=float,
        default=0.0001,
        help="threshold trials also for every graded setting whose mean CV (1-AUC)%% is "
        "within this of the best (round 2's margin rule asks for all of them)",
    )
    args = ap.parse_args(argv)

    t0 = time.time()
    source = args.source or os.environ.get("LABKIT_CORPUS") or str(CORPUS)
    train = E.split_md5(lk.filters.corpus.load(source)).train  # the test half is dropped
    tokens = {m.name: tokenize(m.raw) for m in train}
    sets = {n: frozenset(t) for n, t in tokens.items()}
    nspam = sum(m.spam for m in train)
    print(f"# CV tables: training half only ({len(train)} messages, {nspam} spam)\n")
    print(f"- seeds {args.seeds}, 5-fold; load average {os.getloadavg()[0]:.1f} at start\n")
    seed_cols = " | ".join(f"seed {s}" for s in args.seeds)
    print(f"| candidate | {seed_cols} | mean | sm% at 0 CV FP per seed |")
    print("|---|" + "---|" * (len(args.seeds) + 2))
    best = {}
    for klass in (lk.filters.Robinson, lk.filters.Fisher):
        if klass.kind not in args.families:
            continue
        for params in T.GRID:
            row = T.cross_validate(klass, params, train, sets, seeds=args.seeds)
            print(
                fmt_row(
                    f"{klass.kind} {params or 'defaults'}", row.one_minus_auc_pct, row.sm_at_zero_fp
                ),
                flush=True,
            )
            if klass.kind not in best or row.mean_pct < best[klass.kind][1].mean_pct:
                best[klass.kind] = (klass, row)
    # the sender reputation on top of the best Robinson setting: the same Robinson
    # choice labkit.filters.graded.choose makes (and the benchmark uses)
    if "robinson" in best:
        base = best["robinson"][1].params
    else:
        base = T.choose(lk.filters.Robinson, train, sets, seeds=args.seeds).params
    print(f"\n- Robinson setting under the reputation rows: {base}\n", flush=True)
    klass = SenderRobinson
    for rep in T.REPUTATIONS if "sender" in args.families else ():
        params = {**base, "reputation": rep}
        row = T.cross_validate(klass, params, train, sets, seeds=args.seeds)
        print(
            fmt_row(f"{klass.kind} reputation {rep:g}", row.one_minus_auc_pct, row.sm_at_zero_fp),
            flush=True,
        )
        if klass.kind not in best or row.mean_pct < best[klass.kind][1].mean_pct:
            best[klass.kind] = (klass, row)
    # round 2: the graded reputation (labkit.filters.graded) over its grid
    klass = G.GradedSenderRobinson
    graded_rows = []
    for rep, wit, ms in G.GRID if "graded" in args.families else ():
        params = {**base, "reputation": rep, "witnesses": wit, "min_sender": ms}
        row = T.cross_validate(klass, params, train, sets, seeds=args.seeds)
        print(
            fmt_row(
                f"{klass.kind} reputation {rep:g} witnesses {wit} min_sender {ms}",
                row.one_minus_auc_pct,
                row.sm_at_zero_fp,
            ),
            flush=True,
        )
        graded_rows.append(row)
        if klass.kind not in best or row.mean_pct < best[klass.kind][1].mean_pct:
            best[klass.kind] = (klass, row)
    svm_best = None
    if "svm" in args.families:
        # on top of the SenderRobinson the benchmark's sender-robinson-cv row uses
        if SenderRobinson.kind in best:
            sen = best[SenderRobinson.kind][1].params
        else:
            sen, _ = T.choose_sender_robinson(train, sets, base=base, seeds=args.seeds)
        print(f"\n- SenderRobinson under the svm rows: {sen}\n", flush=True)
        for label, params, aucs, sms in svm_rows(train, sets, sen, args.seeds):
            print(fmt_row(label, aucs, sms), flush=True)
            if params is not None and params["weight"] and (
                svm_best is None or statistics.fmean(aucs) < svm_best[1]
            ):
                svm_best = (params, statistics.fmean(aucs))
    origin_params = None
    if "origin" in args.families:
        # round 7: on the SenderRobinson the benchmark's svm-sender-robinson-cv builds on,
        # chosen on tuning.SEEDS as the benchmark chooses it (more --seeds here can pick
        # another Robinson setting: seeds 0-5 chose min_dev 0.47, the benchmark 0.45)
        rob = T.choose(lk.filters.Robinson, train, sets, seeds=T.SEEDS).params
        sen, _ = T.choose_sender_robinson(train, sets, base=rob, seeds=T.SEEDS)
        print(f"\n- SenderRobinson under the origin rows: {sen}\n", flush=True)
        for label, row in origin_rows(train, sets, sen, args.seeds):
            print(fmt_row(label, row.one_minus_auc_pct, row.sm_at_zero_fp), flush=True)
        origin_params = {**sen, "weight": 0.3, **ORIGIN}
    if "ceiling" in args.families:
        rob = T.choose(lk.filters.Robinson, train, sets, seeds=T.SEEDS).params
        sen, _ = T.choose_sender_robinson(train, sets, base=rob, seeds=T.SEEDS)
        params = {**sen, "weight": 0.3, **ORIGIN}
        print(f"\n# The ranking's ceiling on held-out halves ({2 * args.halves} trials)\n")
        print(f"- filter: SVMSenderRobinson {params}\n")
        print("| trial | sm% at 0 FP, threshold set on the held-out half | without its top ham | "
              "top ham | its From domain | domain in the fit half |")
        print("|---|---|---|---|---|---|")
        rows = ceiling_trials(params, train, args.halves)
        for seed, sm, sm2, name, dom, seen in rows:
            print(f"| {seed} | {sm:.2f} | {sm2:.2f} | {name} | {dom} | {'yes' if seen else 'no'} |",
                  flush=True)
        sms = [r[1] for r in rows]
        print(f"\nmean {statistics.fmean(sms):.2f}, median {statistics.median(sms):.2f}, "
              f"trials at or below 3 %: {sum(x <= 3 for x in sms)} of {len(sms)}", flush=True)
    if "logistic" in args.families:
        for cfg in LOGISTIC:
            aucs, sms = logistic_row(train, sets, args.seeds, **cfg)
            print(fmt_row(f"logistic {cfg}", aucs, sms), flush=True)

    print(f"\n# Threshold rule on held-out halves ({2 * args.halves} trials)\n")
    print("| filter | rule | trials with 0 FP | FP per trial | mean sm% | sm% range |")
    print("|---|---|---|---|---|---|")
    chosen = [(klass, row) for klass, row in best.values()]
    if graded_rows:  # the graded settings CV cannot tell from the best
        top = best[G.GradedSenderRobinson.kind][1]
        chosen += [
            (G.GradedSenderRobinson, row)
            for row in graded_rows
            if row is not top and round(row.mean_pct, 4) - round(top.mean_pct, 4) <= args.tie + 1e-12
        ]
    for klass, row in chosen:
        kind = klass.kind
        tail = kind == G.GradedSenderRobinson.kind
        trials = rule_trials(klass, row.params, train, sets, args.halves, args.seeds, tail)
        for name, res in trials.items():
            print(trial_row(f"{kind} {row.params}", name, res), flush=True)
    if svm_best is not None:
        params = svm_best[0]
        for name, res in svm_rule_trials(params, train, sets, args.halves, args.seeds).items():
            print(trial_row(f"{EN.SVMSenderRobinson.kind} weight {params['weight']:g}", name, res),
                  flush=True)
    if origin_params is not None:
        trials = origin_rule_trials(origin_params, train, sets, args.halves)
        for variant, res_by_rule in trials.items():
            for name, res in res_by_rule.items():
                print(trial_row(f"{EN.SVMSenderRobinson.kind} weight 0.3 {variant}", name, res),
                      flush=True)
    print(f"\n{time.time() - t0:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
