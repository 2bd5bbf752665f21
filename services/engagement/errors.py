"""Errors of the engagement service.

EngagementError (VitrineError)
+-- PostNotFoundError    404: the post to like or view does not exist
"""

from shared.errors import NotFoundError, VitrineError


class EngagementError(VitrineError):
    pass


class PostNotFoundError(EngagementError, NotFoundError):
    pass
