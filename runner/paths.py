"""The project's own locations, in one place (output locations live in conf/hydra/)."""

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Absolute, because `python -m runner` gives Hydra a module, not a file, to resolve from.
CONF_DIR = PROJECT_ROOT / "conf"


def child_environment() -> dict[str, str]:
    """This process's environment for a child Python that must import this checkout's runner and
    workloads first, whatever is installed (a cell, the summary's helper, a replayed sweep)."""
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")])),
    }
