"""Binder: a fresh environment built exactly as binder/ says runs the labs.

The test does what repo2docker does with ``binder/``: a clean copy of the
repository, a new virtual environment on the Python of ``runtime.txt``,
``pip install -r binder/requirements.txt``, then ``binder/postBuild`` run from the
repository root. In that environment it runs ``labkit doctor`` and executes lab 00.
pip's own cache is reused between runs (the first run downloads the pins).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from tests.conftest import ROOT, require_tool

BINDER = ROOT / "binder"
LAB00 = Path("labs", "00-setup", "00-setup.ipynb")

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]


def _runtime_python() -> str:
    """An interpreter of the version pinned in binder/runtime.txt."""
    pin = (BINDER / "runtime.txt").read_text().strip()
    assert pin.startswith("python-"), f"runtime.txt should read python-X.Y, not {pin!r}"
    version = pin.removeprefix("python-")
    if f"{sys.version_info.major}.{sys.version_info.minor}" == version:
        return sys.executable
    return require_tool(f"python{version}")


def _repo_files() -> list[Path]:
    """The files a clone would have: tracked plus untracked-but-not-ignored."""
    out = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, check=True,
    ).stdout.decode()
    return [Path(p) for p in out.split("\0") if p and (ROOT / p).is_file()]


def _clone(dest: Path) -> Path:
    for rel in _repo_files():
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, target)
    return dest


def _corpus_mirror(corpus: Path, dest: Path) -> Path:
    """A local stand-in for the corpus's web site: the archives under their public names."""
    import labkit.filters.corpus

    dest.mkdir(parents=True)
    for folder, archive in labkit.filters.corpus.ARCHIVES.items():
        (dest / archive).symlink_to(corpus / f"{folder}.tar.bz2")
    return dest


def _env(venv_dir: Path, home: Path) -> dict[str, str]:
    """The environment of a Binder session: the new venv first, nothing of ours."""
    ours = {str(Path(sys.prefix, "bin")), str(Path(sys.executable).parent)}
    path = [str(venv_dir / "bin")] + [
        p for p in os.environ.get("PATH", "").split(os.pathsep) if p and p not in ours
    ]
    drop = ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "LABKIT_CORPUS", "LABKIT_DATA")
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("JUPYTER")}
    env.update(
        PATH=os.pathsep.join(path),
        VIRTUAL_ENV=str(venv_dir),
        # Jupyter's per-user folders in the temporary home: no kernels or settings of ours.
        JUPYTER_CONFIG_DIR=str(home / "jupyter-config"),
        JUPYTER_DATA_DIR=str(home / "jupyter-data"),
        JUPYTER_RUNTIME_DIR=str(home / "jupyter-runtime"),
        IPYTHONDIR=str(home / "ipython"),
        MPLCONFIGDIR=str(home / "mpl"),
        LABKIT_CACHE=str(home / "labkit-cache"),  # where postBuild's corpus fetch lands
        PIP_DISABLE_PIP_VERSION_CHECK="1",
    )
    return env


def _run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, capture_output=True, text=True, **kw)
    assert proc.returncode == 0, (
        f"{' '.join(cmd)} exited {proc.returncode}\n--- stdout\n{proc.stdout[-4000:]}"
        f"\n--- stderr\n{proc.stderr[-4000:]}"
    )
    return proc


@pytest.fixture(scope="module")
def binder_env(tmp_path_factory, corpus_dir):
    """(repository copy, venv, environment) after requirements.txt and postBuild."""
    base = tmp_path_factory.mktemp("binder")
    repo = _clone(base / "repo")
    venv_dir = base / "venv"
    python = _runtime_python()
    _run([python, "-m", "venv", str(venv_dir)])
    env = _env(venv_dir, base / "home")
    # postBuild fetches the corpus from the public site; here from a file:// copy of it
    env["LABKIT_CORPUS_MIRROR"] = _corpus_mirror(corpus_dir, base / "mirror").as_uri() + "/"
    # exactly the pins, nothing resolved beyond them (--no-compile only saves time)
    _run([str(venv_dir / "bin" / "python"), "-m", "pip", "install", "-q", "--no-compile",
          "-r", "binder/requirements.txt"], cwd=repo, env=env)
    _run(["bash", "binder/postBuild"], cwd=repo, env=env)
    return repo, venv_dir, env


def _project_dependencies() -> list[str]:
    """``[project] dependencies`` of pyproject.toml (tomllib is Python 3.11+; on 3.10 the
    same list comes from the installed project's metadata, without the extras)."""
    try:
        import tomllib
    except ImportError:  # Python 3.10
        from importlib.metadata import requires

        return [r for r in requires("antispam-labs") or [] if "extra ==" not in r]
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]


def test_requirements_pin_every_dependency():
    """Each line is name==version, and every direct dependency of the project is pinned."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    pins = {}
    for line in (BINDER / "requirements.txt").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        req = Requirement(line)
        (spec,) = req.specifier
        assert spec.operator == "==", f"not pinned: {line}"
        pins[canonicalize_name(req.name)] = spec.version
    for text in _project_dependencies():
        req = Requirement(text)
        name = canonicalize_name(req.name)
        assert name in pins, f"{name} is a dependency but binder/requirements.txt lacks it"
        assert pins[name] in req.specifier, f"{name}=={pins[name]} does not satisfy {text}"


def test_binder_links_open_every_lab():
    """The README's Binder links open each lab, both versions."""
    import re

    import labkit.grading

    ids = {lab.assignment_id for lab in labkit.grading.find_labs()}
    for doc in (ROOT / "README.md",):
        paths = re.findall(r"mybinder\.org/v2/gh/[^)\s]*\?urlpath=lab/tree/([^)\s]+)", doc.read_text())
        if not paths:
            continue
        linked = {tuple(p.split("/")) for p in paths}
        for folder in ("labs", "release"):
            missing = {i for i in ids if (folder, i, f"{i}.ipynb") not in linked}
            assert not missing, f"{doc.name}: no Binder link to {folder}/ for {sorted(missing)}"
        stray = {p for p in linked if p[0] not in ("labs", "release") or p[1] not in ids}
        assert not stray, f"{doc.name}: Binder links to unknown notebooks {sorted(stray)}"


def test_postbuild_is_strict_and_starts_nothing():
    """postBuild stops at the first error; a start script, if any, hands over with exec."""
    lines = [ln.strip() for ln in (BINDER / "postBuild").read_text().splitlines()]
    commands = [ln for ln in lines if ln and not ln.startswith("#")]
    assert commands[0].startswith("set -e"), "postBuild must begin with set -e"
    assert os.access(BINDER / "postBuild", os.X_OK), "postBuild must be executable"
    start = BINDER / "start"
    if start.exists():
        assert start.read_text().rstrip().splitlines()[-1].startswith('exec "$@"')


def test_apt_txt_installs_the_tools_the_labs_run():
    """binder/apt.txt, read as repo2docker reads it (``#`` comments, one package a line,
    ``apt-get install --no-install-recommends``), has the command-line tools that a lab
    notebook runs, and what swaks needs for STARTTLS (a Recommends, so not pulled in)."""
    import re

    packages = [line.partition("#")[0].strip()
                for line in (BINDER / "apt.txt").read_text().splitlines()]
    packages = [p for p in packages if p]
    assert all(re.fullmatch(r"[a-z0-9][a-z0-9.+-]+", p) for p in packages), packages
    runs_swaks = [path.name for path in sorted((ROOT / "labs").glob("*/*.ipynb"))
                  if any('"swaks"' in cell.source
                         for cell in nbformat.read(path, as_version=4).cells)]
    assert "07-submission.ipynb" in runs_swaks, runs_swaks  # lab 07, section 6
    assert {"swaks", "libnet-ssleay-perl"} <= set(packages), packages


def test_doctor_in_binder_env(binder_env):
    """``labkit doctor`` in the new environment: the labs can run, with its own Python."""
    repo, venv_dir, env = binder_env
    proc = subprocess.run([str(venv_dir / "bin" / "labkit"), "doctor", "--offline", "--json"],
                          cwd=repo, env=env, capture_output=True, text=True)
    report = json.loads(proc.stdout)
    failed = [c for c in report["checks"] if c["status"] == "FAIL"]
    assert proc.returncode == 0 and report["ok"], failed
    by_name = {c["name"]: c for c in report["checks"]}
    assert str(venv_dir) in by_name["python"]["detail"], by_name["python"]
    assert by_name["packages"]["status"] == "ok", by_name["packages"]
    assert by_name["lab DNS"]["status"] == "ok", by_name["lab DNS"]
    assert by_name["corpus"]["status"] == "ok", by_name["corpus"]  # fetched by postBuild


def test_postbuild_made_student_versions(binder_env):
    """release/ holds lab 00 with the solutions blanked out."""
    repo, _, _ = binder_env
    student = nbformat.read(repo / "release" / "00-setup" / "00-setup.ipynb", as_version=4)
    source = nbformat.read(repo / LAB00, as_version=4)
    solutions = [c for c in source.cells if c.metadata.get("nbgrader", {}).get("solution")]
    assert solutions, "lab 00 should have solution cells"
    blanked = {c.metadata["nbgrader"]["grade_id"]: c.source for c in student.cells
               if c.metadata.get("nbgrader", {}).get("solution")}
    for cell in solutions:
        assert "BEGIN SOLUTION" in cell.source
        assert "raise NotImplementedError()" in blanked[cell.metadata["nbgrader"]["grade_id"]]


def test_postbuild_left_no_gradebook(binder_env):
    """Binder grades nothing: the image holds no nbgrader gradebook.db."""
    repo, _, _ = binder_env
    assert not list(repo.rglob("gradebook.db")), list(repo.rglob("gradebook.db"))


def test_postbuild_turned_news_off(binder_env):
    """JupyterLab in the environment neither fetches news nor checks for updates."""
    _, venv_dir, _ = binder_env
    path = venv_dir / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    notification = json.loads(path.read_text())["@jupyterlab/apputils-extension:notification"]
    assert notification == {"fetchNews": "false", "checkForUpdates": False}


def test_lab00_runs_in_binder_env(binder_env, tmp_path):
    """Lab 00 executes top to bottom on the environment's own kernel, without an error."""
    repo, venv_dir, env = binder_env
    nb = nbformat.read(repo / LAB00, as_version=4)
    # one extra cell at the end tells which Python and which labkit the kernel used
    nb.cells.append(nbformat.v4.new_code_cell(
        "import sys, labkit\nprint(sys.prefix)\nprint(labkit.__file__)"))
    src = repo / LAB00.parent / "probe.ipynb"
    nbformat.write(nb, src)
    out = tmp_path / "probe.out.ipynb"
    _run([str(venv_dir / "bin" / "jupyter"), "nbconvert", "--to", "notebook", "--execute",
          "--ExecutePreprocessor.kernel_name=python3", "--ExecutePreprocessor.timeout=120",
          "--output", str(out), str(src)], cwd=src.parent, env=env)
    done = nbformat.read(out, as_version=4)
    code = [c for c in done.cells if c.cell_type == "code"]
    assert code and all(c.get("execution_count") for c in code), "some cells did not run"
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert not errors, errors
    prefix, labkit_file = "".join(o.get("text", "") for o in code[-1].outputs).split()
    assert Path(prefix) == venv_dir, "the kernel was not the Binder environment's Python"
    assert Path(labkit_file).is_relative_to(repo), "labkit was not the editable install"
