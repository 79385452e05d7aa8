"""Compile every module `sam build` wrote for the Lambda runtime's Python, so that no cold start has to.

SAM's python builder copies sources without their `*.pyc` and unpacks wheels without compiling
them, and Lambda's `/var/task` and `/opt` are read-only: Python cannot keep what it compiles there,
so without this every cold start compiles all of our code and every dependency again. Measured on
this machine for the janitor's import: 0.92 s of CPU without bytecode against 0.24 s with it.

The bytecode is `unchecked-hash` (PEP 552): the runtime uses it without comparing the source's
modification time, which a zip's extraction need not keep. So it is made only here, on a build
`sam build` has just written afresh: a build folder changed in place afterwards would keep running
the old bytecode. It is tied to the interpreter's minor
version, so this must run under the runtime's Python: it refuses any other (the runtime is read from
the built template, where every zip function and layer names it).

Run: `python3.13 devtools/claude_tasks_dev/precompile.py .aws-sam/build` (`make build` does, with the
python3.13 it builds with; standard library only, so no virtualenv is needed).
"""

from __future__ import annotations

import compileall
import py_compile
import re
import sys
from importlib.util import cache_from_source
from pathlib import Path


def precompile(build_dir: Path) -> tuple[int, list[Path]]:
    """Compile every module under `build_dir`; (modules, the ones left without bytecode)."""
    ok = compileall.compile_dir(
        build_dir, quiet=1, workers=0, invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH
    )
    sources = sorted(build_dir.rglob("*.py"))
    missing = [source for source in sources if not Path(cache_from_source(str(source))).is_file()]
    if not ok:
        # A module that does not compile (a syntax error) has no bytecode and is listed in `missing`:
        # the build is refused, since the function would fail on importing it too.
        print("precompile: some modules did not compile", file=sys.stderr)
    return len(sources), missing


def runtime_of(built_template: str) -> str:
    """The one Python runtime the built template's functions and layers name (`python3.13`)."""
    runtimes = set(re.findall(r"\b(python3\.\d+)\b", built_template))
    if len(runtimes) != 1:
        raise ValueError(f"expected one Python runtime in the built template, found {sorted(runtimes)}")
    return str(runtimes.pop())


def main(argv: list[str]) -> int:
    build_dir = Path(argv[0])
    if not (build_dir / "template.yaml").is_file():
        print(f"precompile: no {build_dir}/template.yaml: run sam build first")
        return 2
    runtime = runtime_of((build_dir / "template.yaml").read_text())
    this = f"python{sys.version_info.major}.{sys.version_info.minor}"
    if this != runtime:
        print(f"precompile: running on {this}, but the functions run on {runtime}: its bytecode would be ignored")
        return 2
    modules, missing = precompile(build_dir)
    for source in missing:
        print(f"precompile: no bytecode for {source}")
    print(f"precompile: {modules - len(missing)} of {modules} modules in {build_dir} compiled for {runtime}")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
