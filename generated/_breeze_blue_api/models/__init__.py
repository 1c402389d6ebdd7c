"""Contains all the data models used in inputs/outputs"""

from .error_detail import ErrorDetail
from .error_envelope import ErrorEnvelope
from .known_error_code import KnownErrorCode

__all__ = (
    "ErrorDetail",
    "ErrorEnvelope",
    "KnownErrorCode",
)
