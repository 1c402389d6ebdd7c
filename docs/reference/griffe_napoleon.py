"""A griffe extension for the API reference: the Sphinx forms griffe does not read.

The docstrings follow the Google style as Sphinx's Napoleon reads it. griffe (which
mkdocstrings uses) differs in four places, and with ``mkdocs build --strict`` its warnings
fail the build. This extension rewrites the docstring text griffe parses, for the site only
(the code is untouched), so the reference shows what the docstring means:

- ``Example:`` is a synonym of ``Examples:`` (griffe makes it an admonition, where ``>>>``
  lines turn into nested quotes and doctest output into broken cross-references);
- ``a, b: text`` in ``Args:`` documents both parameters with that text;
- in ``Raises:``, a list of exception types may wrap onto the next line after a comma;
- Sphinx roles (``:class:`Audio```, ``:meth:`start```) show as code, ``Audio``, not as the
  literal role.

Loaded from mkdocs.yml (``extensions:``); the file is not part of the site (``exclude_docs``).
"""

from __future__ import annotations

import re
from typing import Any

import griffe

SECTION = re.compile(r"^(\s*)(\w[\w ]*):\s*$")
GROUPED = re.compile(r"^(\s*)(\w+(?:\s*,\s*\w+)+)\s*:\s*(.*)$")
ROLE = re.compile(r":(?:py:)?(?:class|meth|attr|func|exc|mod|data|obj):`~?([^`]+)`")


def rewrite(text: str) -> str:
    lines = ROLE.sub(r"`\1`", text).splitlines()
    out: list[str] = []
    section, section_indent = "", -1
    i = 0
    while i < len(lines):
        line = lines[i]
        indent = len(line) - len(line.lstrip())
        header = SECTION.match(line)
        if header and line.strip():
            section, section_indent = header.group(2).lower(), indent
            if section == "example":
                line = f"{header.group(1)}Examples:"
        elif line.strip() and indent <= section_indent:
            section, section_indent = "", -1
        entry_level = line.strip() and indent > section_indent >= 0
        if section in {"args", "arguments", "parameters"} and entry_level:
            grouped = GROUPED.match(line)
            if grouped:
                # The description, continuation lines included, repeated for each name.
                more: list[str] = []
                while i + 1 < len(lines) and (
                    not lines[i + 1].strip()
                    or len(lines[i + 1]) - len(lines[i + 1].lstrip()) > indent
                ):
                    if not lines[i + 1].strip() and (
                        i + 2 >= len(lines)
                        or len(lines[i + 2]) - len(lines[i + 2].lstrip()) <= indent
                    ):
                        break
                    i += 1
                    more.append(lines[i])
                for name in (name.strip() for name in grouped.group(2).split(",")):
                    out.append(f"{grouped.group(1)}{name}: {grouped.group(3)}")
                    out.extend(more)
                i += 1
                continue
        if section == "raises" and entry_level and line.rstrip().endswith(","):
            # The type list goes on: join the next line to this one.
            while line.rstrip().endswith(",") and i + 1 < len(lines):
                i += 1
                line = f"{line.rstrip()} {lines[i].strip()}"
        out.append(line)
        i += 1
    return "\n".join(out)


class NapoleonForms(griffe.Extension):
    """Rewrites each docstring of the loaded package before griffe parses it."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        self._visit(pkg)

    def _visit(self, obj: griffe.Object) -> None:
        if obj.docstring is not None:
            obj.docstring.value = rewrite(obj.docstring.value)
        for member in obj.members.values():
            if not isinstance(member, griffe.Alias):
                self._visit(member)
