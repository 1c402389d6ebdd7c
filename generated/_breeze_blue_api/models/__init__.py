"""Contains all the data models used in inputs/outputs"""

from .error_detail import ErrorDetail
from .error_envelope import ErrorEnvelope

__all__ = (
    "ErrorDetail",
    "ErrorEnvelope",
)
