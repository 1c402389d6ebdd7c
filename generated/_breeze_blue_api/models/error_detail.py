from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.known_error_code import KnownErrorCode
from ..types import UNSET, Unset

T = TypeVar("T", bound="ErrorDetail")


@_attrs_define
class ErrorDetail:
    """What went wrong.

    Attributes:
        code (KnownErrorCode | str): Machine-readable error code. The set is open: a server may send a code this list
            does not name yet, so clients must fall back to the HTTP status for an unknown code.
        message (str): Human-readable explanation; not meant to be parsed.
        request_id (str | Unset): Identifier of the request, to quote to support.
    """

    code: KnownErrorCode | str
    message: str
    request_id: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        code: str
        if isinstance(self.code, KnownErrorCode):
            code = self.code.value
        else:
            code = self.code

        message = self.message

        request_id = self.request_id

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "code": code,
                "message": message,
            }
        )
        if request_id is not UNSET:
            field_dict["request_id"] = request_id

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)

        def _parse_code(data: object) -> KnownErrorCode | str:
            try:
                if not isinstance(data, str):
                    raise TypeError()
                componentsschemas_error_code_type_0 = KnownErrorCode(data)

                return componentsschemas_error_code_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(KnownErrorCode | str, data)

        code = _parse_code(d.pop("code"))

        message = d.pop("message")

        request_id = d.pop("request_id", UNSET)

        error_detail = cls(
            code=code,
            message=message,
            request_id=request_id,
        )

        error_detail.additional_properties = d
        return error_detail

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
