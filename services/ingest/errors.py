"""Errors of the ingest service.

IngestError (VitrineError)
+-- UnsupportedMediaError    422: the bytes are not a JPEG or an H.264 MP4
+-- UnknownProductError      422: a tagged product is not in the catalog
+-- PostNotFoundError        404
+-- MediaNotFoundError       404
"""

from shared.errors import InvalidFieldError, NotFoundError, VitrineError


class IngestError(VitrineError):
    pass


class UnsupportedMediaError(IngestError, InvalidFieldError):
    code = "unsupported_media"


class UnknownProductError(IngestError, InvalidFieldError):
    code = "unknown_product"


class PostNotFoundError(IngestError, NotFoundError):
    pass


class MediaNotFoundError(IngestError, NotFoundError):
    pass
