"""``labkit corpus fetch|verify|info`` and ``labkit bayes train|score|evaluate``."""

from __future__ import annotations

import argparse
import sys
import urllib.parse
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..cli import atomic_path, new_folder, read_input
from ..errors import CorpusError, UsageError

if TYPE_CHECKING:
    from .corpus import Corpus

SPLITS = ("md5", "chronological", "kfold", "online")


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``corpus`` and ``bayes`` sub-commands to the ``labkit`` parser."""
    corpus = sub.add_parser("corpus", help="the SpamAssassin public corpus")
    csub = corpus.add_subparsers(dest="corpus_command", metavar="ACTION")
    corpus.set_defaults(func=lambda a: _help(corpus))

    p = csub.add_parser(
        "fetch",
        help="download the public archives into the cache (or --dest)",
        description="Download the public archives (about 6.7 MB) into the user cache folder "
        "($LABKIT_CACHE/spamassassin when set) or --dest, check each one whole, and verify "
        "every message. Archives already there are kept if they read to the end; a damaged "
        "one is downloaded again. With LABKIT_OFFLINE set only a file:// or loopback "
        "--base-url is used. Exit 1 when a file is corrupted, an archive cannot be read to "
        "its end or a folder is missing (as `labkit corpus verify`); exit 2 for a --dest "
        "that is a file.",
    )
    p.add_argument("--dest", help="target folder (default: the user cache folder)")
    p.add_argument("--folder", action="append",
                   help="only this folder: easy_ham, easy_ham_2, hard_ham, spam or spam_2 (repeatable)")
    p.add_argument(
        "--base-url", default=None, help="where the archives are (default: the public site)"
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=_fetch)

    for name, helptext in (
        ("verify", "check every archive, folder and message (MD5 against the file name)"),
        ("info", "where the corpus is and what it holds"),
    ):
        p = csub.add_parser(
            name,
            help=helptext,
            description=helptext[0].upper() + helptext[1:] + ". Lists corrupted files, "
            "archives that could not be read to their end, missing folders and folders "
            "with fewer messages than the public archives"
            + (
                "; exit 1 for any of the first three (a progress bar on a terminal)."
                if name == "verify"
                else "."
            )
            + " A --source that does not exist, or a file that is not a corpus archive, is "
            "bad input (exit 2).",
        )
        p.add_argument(
            "--source", help="folder or archive (default: $LABKIT_CORPUS, then the cache); "
            "one archive such as spam.tar.bz2 is read for the folder it holds"
        )
        p.add_argument("--json", action="store_true", help="machine-readable output")
        p.set_defaults(func=_verify if name == "verify" else _info)

    bayes = sub.add_parser("bayes", help="train, use and evaluate Bayesian spam filters")
    bsub = bayes.add_subparsers(dest="bayes_command", metavar="ACTION")
    bayes.set_defaults(func=lambda a: _help(bayes))

    p = bsub.add_parser("train", help="train a filter on the corpus and save it as JSON")
    _filter_args(p)
    p.add_argument("--out", required=True, help="file to write (.json or .json.gz)")
    p.add_argument(
        "--set",
        choices=("md5-train", "all"),
        default="md5-train",
        help="train on the MD5 split's training half (default) or everything",
    )
    p.set_defaults(func=_train)

    p = bsub.add_parser(
        "score",
        help="score message files with a saved filter",
        description="Score message files with a filter saved by `labkit bayes train`. A "
        "missing, truncated or damaged model file is bad input (exit 2, the file named).",
    )
    p.add_argument("--model", required=True, help="a file written by `labkit bayes train`")
    p.add_argument("files", nargs="+", help="message files ('-' for standard input)")
    p.add_argument("--explain", action="store_true", help="show the decisive tokens")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=_score)

    p = bsub.add_parser(
        "evaluate",
        help="evaluate a filter on the corpus",
        description="Train and score a filter on a split of the corpus and print the metrics. "
        "A progress bar goes to stderr when it is a terminal (never with --json). A --roc "
        "path whose folder is missing or whose image type matplotlib cannot write is bad "
        "input (exit 2), reported before the corpus is read.",
    )
    _filter_args(p)
    p.add_argument("--split", choices=SPLITS, default="md5",
                   help="how to split train and test: by MD5 (default), by date, k folds, "
                   "or online (score each message, then learn it)")
    p.add_argument("-k", type=int, default=None,
                   help="folds for --split kfold, 2 up to the number of messages (default 10)")
    p.add_argument("--every", type=int, default=1, help="use every n-th message, for quick runs (default 1: all)")
    p.add_argument("--roc", help="save a ROC plot (PNG) here")
    p.set_defaults(func=_evaluate)


def _help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _filter_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--filter",
        default="fisher",
        help="graham, robinson, fisher, multinomial, sender-robinson, graded-sender-robinson, "
        "svm-sender-robinson or sklearn (default fisher)",
    )
    p.add_argument(
        "--source", help="corpus folder or archive (default: $LABKIT_CORPUS, then the cache)"
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument(
        "--param", action="append", default=[], metavar="NAME=VALUE",
        help="a parameter of the filter, repeatable: e.g. --param strength=0.0178 "
        "--param min_dev=0.45 (the names are the filter class's keyword arguments; "
        "benchmarks/RESULTS-filters.md lists the ones its -cv rows chose)",
    )


def _params(pairs: list[str]) -> dict[str, int | float]:
    """``--param NAME=VALUE`` options as keyword arguments: VALUE a whole number or a number."""
    out: dict[str, int | float] = {}
    for pair in pairs:
        name, eq, value = pair.partition("=")
        name, value = name.strip(), value.strip()
        if not eq or not name.isidentifier() or not value:
            raise UsageError(f"--param {pair!r}: write NAME=VALUE, e.g. --param strength=0.0178")
        if name in out:
            raise UsageError(f"--param {name} is given twice")
        try:
            out[name] = int(value)
        except ValueError:
            try:
                out[name] = float(value)
            except ValueError:
                raise UsageError(f"--param {pair!r}: {value!r} is not a number") from None
    return out


def _out(args: argparse.Namespace, data: dict, text: str) -> None:
    from ..cli import print_json

    if args.json:
        print_json(data)
    else:
        print(text)


def _fetch(args: argparse.Namespace) -> int:
    from . import corpus

    unknown = [f for f in args.folder or [] if f not in corpus.FOLDERS]
    if unknown:
        raise UsageError(
            f"unknown corpus folder {', '.join(unknown)}; folders are {', '.join(corpus.FOLDERS)}"
        )
    dest = Path(args.dest).expanduser() if args.dest else None
    if dest is not None and dest.exists() and not dest.is_dir():
        raise UsageError(f"--dest {args.dest} is not a folder")
    kwargs = {"base_url": _base_url(args.base_url)} if args.base_url else {}
    # a failed first fetch leaves no empty --dest behind
    with new_folder(args.dest, "--dest") if dest is not None else nullcontext():
        try:
            c = corpus.fetch(args.dest, folders=args.folder, progress=not args.json, **kwargs)
        except OSError as exc:
            raise CorpusError(f"cannot fetch the corpus: {exc}") from None
    return _report(args, c)


def _base_url(url: str) -> str:
    """``--base-url`` checked: an http(s) URL with a host, or a file:// URL."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https", "file") or (parts.scheme != "file" and not parts.netloc):
        raise UsageError(f"--base-url {url} is not a URL to fetch from: give an http://, https:// "
                         "or file:// URL, e.g. file:///path/to/archives")
    return url




def _corpus_source(args: argparse.Namespace) -> str | None:
    """``--source`` checked: a path that does not exist, or a file that is not one of the
    corpus archives (``spam.tar.bz2``, ``20030228_spam.tar.bz2`` ...), is bad input (exit 2)."""
    if not args.source:
        return args.source
    from .corpus import ARCHIVES, _how_to_get, folders_present

    path = Path(args.source).expanduser()
    if not path.exists():
        raise UsageError(f"--source {args.source} does not exist. {_how_to_get()}")
    if not path.is_dir() and not folders_present(path):
        raise UsageError(f"--source {args.source} is a file but not a corpus archive: give the "
                         f"folder that holds the archives or their extracted folders, or one "
                         f"archive such as {ARCHIVES['spam']}")
    return args.source


def _report(args: argparse.Namespace, c: Corpus) -> int:
    """Print the corpus summary and every loss; exit 1 if a part was damaged or missing."""
    lines = [repr(c)] + [f"  {line}" for line in c.issues()]
    _out(args, c.to_dict(), "\n".join(lines))
    return 1 if c.damaged else 0


def _verify(args: argparse.Namespace) -> int:
    from . import corpus

    source = _corpus_source(args)
    return _report(args, corpus.verify(source, progress=not args.json and sys.stderr.isatty()))


def _info(args: argparse.Namespace) -> int:
    from . import corpus

    c = corpus.load(_corpus_source(args))
    counts = c.counts()
    lines = [f"source: {c.source}"]
    lines += [
        f"  {f:<11} {counts.get(f, 0):>5}  {label}  (public archive: {corpus.SIZES[f]})"
        for f, label in corpus.FOLDERS.items()
    ]
    lines.append(
        f"  {counts['ham_total']} ham, {counts['spam_total']} spam, {counts['corrupted']} skipped"
    )
    lines += [f"  {line}" for line in c.issues()]
    _out(args, c.to_dict(), "\n".join(lines))
    return 0


def _make(kind: str, params: dict[str, int | float] | None = None):
    """The filter ``--filter`` names, with the ``--param`` values; any refusal is bad usage."""
    from . import bayes

    try:
        return bayes.make(kind, **(params or {}))
    except TypeError as exc:  # a wrong name or type of parameter, as the class words it
        raise UsageError(f"--filter {kind} with --param: {exc}") from None


def _described(f: Any) -> dict[str, Any]:
    """What the JSON output says of a filter: its kind, and its parameters when it has them."""
    params = getattr(f, "params", None)
    return {"filter": f.kind, **({"params": params()} if callable(params) else {})}


def _train(args: argparse.Namespace) -> int:
    from . import corpus, evaluate

    f = _make(args.filter, _params(args.param))
    _writable(args.out, "--out")
    c = corpus.load(_corpus_source(args))
    msgs = evaluate.split_md5(c).train if args.set == "md5-train" else tuple(c)
    f.train(msgs, progress=_bayes_progress(args))
    try:  # written beside --out and renamed: a failed write leaves no half model behind
        with atomic_path(args.out) as tmp:
            f.save(tmp)
        path = Path(args.out)
    except OSError as exc:
        raise UsageError(
            f"--out {args.out}: cannot write the filter ({exc.strerror or exc})"
        ) from exc
    _out(
        args,
        # the token count the text (the filter's repr) shows, for the filters that count tokens
        {**_described(f), "nham": f.nham, "nspam": f.nspam,
         **({"tokens": len(f.counts)} if hasattr(f, "counts") else {}), "path": str(path)},
        f"{f!r} saved to {path}",
    )
    return 0


def _bayes_progress(args: argparse.Namespace) -> bool | None:
    """Progress bars (on stderr) only for a person watching: not with --json or off a terminal."""
    return None if not args.json and sys.stderr.isatty() else False


def _writable(name: str, option: str) -> None:
    """Fail before the long work when ``name`` cannot be written (its folder is missing)."""
    parent = Path(name).expanduser().parent
    if not parent.is_dir():
        raise UsageError(f"{option} {name}: the folder {parent} does not exist")
    if Path(name).is_dir():
        raise UsageError(f"{option} {name} is a folder, not a file name")


def _score(args: argparse.Namespace) -> int:
    from . import bayes

    if args.files.count("-") > 1:
        raise UsageError("'-' (standard input) is given more than once: it can be read only once")
    if Path(args.model).is_dir():
        raise UsageError(f"--model {args.model} is a folder; give the file `labkit bayes train --out` wrote")
    if not Path(args.model).is_file():
        raise UsageError(f"no such model file: {args.model}")
    f = bayes.load(args.model)
    results = []
    lines = []
    for name in args.files:
        raw = read_input(name, allow_empty=True)  # issue #5: an empty message gets a score
        s = f.score(raw)
        entry = {"file": name, "score": s, "status": f.status(s)}
        if args.explain and hasattr(f, "explain"):
            e = f.explain(raw)
            entry["clues"] = [list(c) for c in e.clues]
            lines.append(f"{name}: {e}")
        else:
            lines.append(f"{name}: {s:.4f} {f.status(s)}")
        results.append(entry)
    _out(args, {"filter": f.kind, "results": results}, "\n".join(lines))
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from . import corpus, evaluate

    if args.every < 1:
        raise UsageError("--every must be at least 1")
    if args.k is not None and args.split != "kfold":
        raise UsageError("-k goes with --split kfold (the other splits have no folds)")
    k = 10 if args.k is None else args.k
    if args.split == "kfold" and k < 2:
        raise UsageError("-k must be at least 2")
    params = _params(args.param)
    described = _described(_make(args.filter, params))  # bad names: before the corpus is read
    if args.roc:
        _writable(args.roc, "--roc")
        from matplotlib.backend_bases import FigureCanvasBase

        kind = Path(args.roc).suffix.lstrip(".").lower()
        if kind and kind not in FigureCanvasBase.get_supported_filetypes():
            raise UsageError(f"--roc {args.roc}: matplotlib cannot write .{kind} images")
    everything = tuple(corpus.load(_corpus_source(args)))
    msgs = everything[:: args.every]

    def both(ms: tuple) -> bool:
        return any(m.spam for m in ms) and any(not m.spam for m in ms)

    # a corpus of one class is allowed (the undefined figures come out as null); thinning
    # a corpus of both down to one class is a mistake in --every
    if both(everything) and not both(msgs):
        raise UsageError(f"--every {args.every} leaves {len(msgs)} message(s), not both spam and "
                         "ham: nothing to train and measure; use a smaller --every")
    if args.split == "kfold" and k > len(msgs):
        raise UsageError(f"-k {k}: more folds than the {len(msgs)} messages to share among them")
    progress = _bayes_progress(args)
    if args.split == "online":
        ev = evaluate.online(_make(args.filter, params), msgs, progress=progress)
    elif args.split == "kfold":
        ev = evaluate.cross_validate(lambda: _make(args.filter, params), msgs, k, progress=progress)
    else:
        sp = evaluate.split_md5(msgs) if args.split == "md5" else evaluate.split_chronological(msgs)
        if not sp.train or not sp.test:
            raise UsageError(f"--every {args.every}: the {args.split} split of {len(msgs)} messages "
                             f"leaves {'no training' if not sp.train else 'no test'} messages; "
                             "use a smaller --every")
        ev = evaluate.evaluate_split(lambda: _make(args.filter, params), sp, progress=progress)
    if args.roc:
        import matplotlib

        matplotlib.use("Agg")
        ax = ev.plot_roc()
        try:
            ax.figure.savefig(args.roc, dpi=120, bbox_inches="tight")
        except (OSError, ValueError) as exc:  # unwritable path, unknown image format
            raise UsageError(f"--roc {args.roc}: cannot save the plot ({exc})") from exc
    _out(args, {**ev.to_dict(), **described}, str(ev))
    return 0
