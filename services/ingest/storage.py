"""Content-addressed media files on local disk."""

import hashlib
import os
import re
import tempfile
from pathlib import Path

from services.ingest.errors import MediaNotFoundError

# Names are "<sha256 hex>.<extension>", so a name can never leave the folder.
MEDIA_NAME = re.compile(r"^[0-9a-f]{64}\.(jpg|mp4)$")


class MediaStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)

    def save(self, data: bytes, extension: str) -> tuple[str, str]:
        """Store ``data`` under its SHA-256 and return (file name, hex digest).

        The same bytes uploaded twice are stored once.
        """
        digest = hashlib.sha256(data).hexdigest()
        name = f"{digest}.{extension}"
        target = self.root / name
        if target.exists():
            return name, digest
        # Write then rename, so a reader never sees a half-written file.
        handle, temporary = tempfile.mkstemp(dir=self.root, suffix=".part")
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return name, digest

    def path_of(self, name: str) -> Path:
        if not MEDIA_NAME.match(name):
            raise MediaNotFoundError(
                f"media file {name!r} does not exist", field="name", value=name
            )
        path = self.root / name
        if not path.is_file():
            raise MediaNotFoundError(
                f"media file {name!r} does not exist", field="name", value=name
            )
        return path
