"""Errors of the commerce service.

CommerceError (VitrineError)
+-- ProductNotFoundError         404
+-- ProductExistsError           409: the product id is taken
+-- OrderNotFoundError           404
+-- PostNotFoundError            404: the post an order names does not exist
+-- ProductNotTaggedError        422: the post does not tag the product
+-- OutOfStockError              409
+-- IdempotencyKeyReusedError    422: same key, different request
"""

from shared.errors import ConflictError, InvalidFieldError, NotFoundError, VitrineError


class CommerceError(VitrineError):
    pass


class ProductNotFoundError(CommerceError, NotFoundError):
    pass


class ProductExistsError(CommerceError, ConflictError):
    pass


class OrderNotFoundError(CommerceError, NotFoundError):
    pass


class PostNotFoundError(CommerceError, NotFoundError):
    pass


class ProductNotTaggedError(CommerceError, InvalidFieldError):
    pass


class OutOfStockError(CommerceError, ConflictError):
    code = "out_of_stock"


class IdempotencyKeyReusedError(CommerceError, InvalidFieldError):
    code = "idempotency_key_reused"
