"""The project's own locations, in one place (output locations live in conf/hydra/)."""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Absolute, because `python -m runner` gives Hydra a module, not a file, to resolve from.
CONF_DIR = PROJECT_ROOT / "conf"
