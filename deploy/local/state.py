"""Location of the state directory: data folders, logs and pid files."""

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
STATE_DIR_VARIABLE = "VITRINE_STATE_DIR"


def default_state_dir() -> Path:
    """Return $VITRINE_STATE_DIR if set, else ``<repo>/.vitrine``."""
    configured = os.environ.get(STATE_DIR_VARIABLE)
    if configured:
        return Path(configured).expanduser().resolve()
    return REPO_ROOT / ".vitrine"
