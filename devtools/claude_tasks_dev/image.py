"""The claude-code worker's container image without Docker: the task root its Dockerfile makes, and its cold start.

`functions/claude_code_worker/Dockerfile` pip-installs the pinned requirements into the image's task root
and adds the service package and the worker's handler. `assemble` lays out the same tree here: pip's
cross-platform install of the same pins (CPython 3.13, manylinux wheels up to AL2023's glibc 2.34), the
same sources compiled the same way. `check` then imports the handler with Python 3.13 and the tree as its
only packages, and runs the bundled Claude Code CLI. `python -m claude_tasks_dev.image` prints the figures.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from claude_tasks_dev.checkout import repo_root
from claude_tasks_dev.local.template import load_template, resources_of_type

ROOT = repo_root()
REQUIREMENTS = ROOT / "functions" / "claude_code_worker" / "requirements.txt"
CACHE = ROOT / ".cache" / "claude-code-image"
# What the Dockerfile copies into the task root besides the requirements: repository path -> tree path.
SOURCES = {"shared/claude_tasks": "claude_tasks", "functions/worker/app.py": "app.py"}
CLI = Path("claude_agent_sdk") / "_bundled" / "claude"
PYTHON_VERSION = "3.13"  # the image's Python: public.ecr.aws/lambda/python:3.13
GLIBC_MINOR = 34  # Amazon Linux 2023, the base image's OS
LAYOUT = "1"  # bump when the steps below change what a cached tree holds


def python313() -> str:
    """Path of a Python 3.13 interpreter: pyenv's newest 3.13, else `python3.13` on PATH (as the Makefile finds it).

    Raises FileNotFoundError when there is none.
    """
    if pyenv := shutil.which("pyenv"):
        found = subprocess.run([pyenv, "prefix", PYTHON_VERSION], capture_output=True, text=True)  # noqa: S603
        candidate = Path(found.stdout.strip().split(":")[0]) / "bin" / f"python{PYTHON_VERSION}"
        if found.returncode == 0 and candidate.is_file():
            return str(candidate)
    if on_path := shutil.which(f"python{PYTHON_VERSION}"):
        return on_path
    raise FileNotFoundError(f"no python{PYTHON_VERSION}: install it with `pyenv install {PYTHON_VERSION}`")


def pip_target_args(arch: str) -> list[str]:
    """pip's flags for wheels the image can run: CPython 3.13 on `arch`, any manylinux up to glibc 2.34.

    pip matches `--platform` literally: `manylinux2014_x86_64` does not admit a `manylinux_2_17_x86_64`
    wheel, so every glibc level is named, with the legacy alias of 2.17.
    """
    platforms = [f"manylinux_2_{minor}_{arch}" for minor in range(GLIBC_MINOR, 16, -1)] + [f"manylinux2014_{arch}"]
    flags = ["--implementation", "cp", "--python-version", PYTHON_VERSION, "--only-binary=:all:"]
    return flags + [arg for name in platforms for arg in ("--platform", name)]


def cache_key(arch: str) -> str:
    """The cached dependency tree's name: it changes with the pins, the architecture or the layout."""
    digest = hashlib.sha256(REQUIREMENTS.read_bytes() + f"|{arch}|{PYTHON_VERSION}|{LAYOUT}".encode())
    return f"{arch}-{digest.hexdigest()[:16]}"


def dependencies(arch: str | None = None) -> Path:
    """The pinned requirements installed for the image, downloaded once per `cache_key` into `.cache/`.

    A tree appears under its key only complete (renamed into place); raises CalledProcessError when pip fails.
    """
    arch = arch or platform.machine()
    done = CACHE / cache_key(arch)
    if done.is_dir():
        return done
    CACHE.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f"{done.name}.partial-", dir=CACHE))
    try:
        # Run by Python 3.13 itself, so the .pyc files pip compiles are the ones the image's pip makes.
        subprocess.run(  # noqa: S603 - our interpreter, our arguments
            [python313(), "-m", "pip", "install", "--quiet", "--no-cache-dir", "--disable-pip-version-check",
             "--root-user-action=ignore", "--target", str(partial / "tree"), "--report", str(partial / "report.json"),
             *pip_target_args(arch), "-r", str(REQUIREMENTS)],
            check=True,
        )  # fmt: skip
        (partial / "tree" / CLI).chmod(0o755)
        partial.rename(done)
    except OSError:
        if not done.is_dir():  # a concurrent run renamed its own first: use that one
            raise
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return done


def assemble(tree: Path) -> Path:
    """Lay out the image's task root at `tree` (made if missing) from the cached dependencies and our sources.

    Dependencies are hard links into the cache where the file system allows; never write into them.
    """
    shutil.copytree(dependencies() / "tree", tree, copy_function=_link_or_copy, dirs_exist_ok=True)
    for source, target in SOURCES.items():
        path = ROOT / source
        if path.is_dir():
            shutil.copytree(path, tree / target, ignore=shutil.ignore_patterns("__pycache__"), dirs_exist_ok=True)
        else:
            shutil.copy2(path, tree / target)
    targets = [str(tree / target) for target in SOURCES.values()]
    subprocess.run(  # noqa: S603 - as the Dockerfile's `code` stage compiles them
        [python313(), "-I", "-m", "compileall", "-q", "--invalidation-mode", "unchecked-hash", *targets], check=True
    )
    return tree


def _link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:  # another file system, or a file already there
        shutil.copy2(source, target)


def tree_size_mib(tree: Path) -> float:
    """Bytes of the regular files under `tree`, in MiB."""
    return sum(p.lstat().st_size for p in tree.rglob("*") if p.is_file() and not p.is_symlink()) / 2**20


# Lambda's own variables for a function, and the worker's settings for the claude-code backend (fake
# credentials: importing the handler makes no AWS call). Nothing else of this machine's environment passes.
LAMBDA_ENVIRONMENT = {
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_LAMBDA_FUNCTION_NAME": "claude-code-worker",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "2048",
    "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
    "AWS_ACCESS_KEY_ID": "image-check",
    "AWS_SECRET_ACCESS_KEY": "image-check",  # noqa: S105 - not a secret
    "LAMBDA_RUNTIME_DIR": "/var/runtime",
    "LANG": "en_US.UTF-8",
    "TZ": ":UTC",
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "POWERTOOLS_SERVICE_NAME": "claude-task-server",
    "POWERTOOLS_METRICS_NAMESPACE": "ClaudeTaskServer",
    "CLAUDE_BACKEND": "claude-code",
    "ENABLED_BACKENDS": "claude-code,offline",
}

# Run as `python3.13 -I -S -B -c PROBE <tree>`: no site-packages, no PYTHON* variables, no .pyc written
# (the task root is read-only in Lambda); the tree goes first on sys.path, as Lambda's runtime puts it.
PROBE = """
import json, sys, sysconfig, time
tree = sys.argv[1]
sys.path.insert(0, tree)
started = time.perf_counter()
import app
elapsed = time.perf_counter() - started
import claude_tasks.claude.claude_code  # the backend the worker imports on its first claude-code task
stdlib = (sysconfig.get_path("stdlib"), sysconfig.get_path("platstdlib"))
files = {getattr(m, "__file__", None) or "" for m in list(sys.modules.values())}
foreign = sorted(f for f in files if f and not f.startswith((tree, *stdlib)))
print(json.dumps({"import_s": elapsed, "app": app.__file__, "foreign": foreign}))
"""


class ImageCheckFailed(RuntimeError):
    """The assembled tree does not work: the handler does not import from it alone, or the CLI does not run."""


@dataclass(frozen=True)
class ColdStart:
    """What a cold start of the image costs, measured on this machine (medians)."""

    size_mib: float
    import_s: float  # `import app`: the handler module, as Lambda's init phase imports it
    cli_s: float  # wall time of `claude --version`: the bundled CLI's own start
    cli_version: str


def check(tree: Path, runs: int = 3) -> ColdStart:
    """Import the handler and run the bundled CLI from `tree`, `runs` times each in fresh processes.

    Raises ImageCheckFailed if the import fails or loads a module from outside the tree and the standard
    library, or if `claude --version` fails.
    """
    python = python313()
    imports = [_import_seconds(python, tree) for _ in range(runs)]
    clis = [_cli_seconds(tree) for _ in range(runs)]
    return ColdStart(
        size_mib=tree_size_mib(tree),
        import_s=statistics.median(imports),
        cli_s=statistics.median(seconds for seconds, _ in clis),
        cli_version=clis[-1][1],
    )


def _import_seconds(python: str, tree: Path) -> float:
    env = {**LAMBDA_ENVIRONMENT, "LAMBDA_TASK_ROOT": str(tree)}
    done = subprocess.run([python, "-I", "-S", "-B", "-c", PROBE, str(tree)], env=env, capture_output=True, text=True)  # noqa: S603
    if done.returncode != 0:
        raise ImageCheckFailed(f"the handler does not import from {tree}:\n{done.stderr.strip()}")
    probe = json.loads(done.stdout.strip().splitlines()[-1])
    if probe["foreign"] or not probe["app"].startswith(str(tree)):
        raise ImageCheckFailed(f"modules loaded from outside {tree}: {probe['foreign'] or probe['app']}")
    return float(probe["import_s"])


def _cli_seconds(tree: Path) -> tuple[float, str]:
    with tempfile.TemporaryDirectory(prefix="claude-config-") as home:
        # As the backend runs it: a fresh config directory, and a writable HOME (Lambda's is read-only).
        env = {**LAMBDA_ENVIRONMENT, "HOME": home, "CLAUDE_CONFIG_DIR": home}
        started = time.perf_counter()
        done = subprocess.run([str(tree / CLI), "--version"], env=env, capture_output=True, text=True, timeout=60)  # noqa: S603
        elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise ImageCheckFailed(f"`claude --version` failed ({done.returncode}): {done.stderr.strip()}")
    return elapsed, done.stdout.strip()


def image_functions() -> list[str]:
    """Logical ids of template.yaml's container-image functions (`PackageType: Image`)."""
    functions = resources_of_type(load_template(), "AWS::Serverless::Function")
    return sorted(logical_id for logical_id, props in functions.items() if props.get("PackageType") == "Image")


def main(argv: list[str] | None = None) -> int:
    """Assemble the tree in a scratch folder beside the cache, check it, print its size and cold start."""
    if (argv if argv is not None else sys.argv[1:]) == ["--image-functions"]:
        print("\n".join(image_functions()))
        return 0
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="tree-", dir=CACHE) as scratch:
        tree = assemble(Path(scratch) / "task")
        figures = check(tree)
    print(f"claude-code image task root: {figures.size_mib:.0f} MiB (CPython {PYTHON_VERSION}, {platform.machine()})")
    print(f"handler import: {figures.import_s:.3f} s; claude --version: {figures.cli_s:.3f} s ({figures.cli_version})")
    print(f"cold start, import + CLI start (medians of 3): {figures.import_s + figures.cli_s:.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
