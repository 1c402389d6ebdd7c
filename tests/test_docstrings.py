"""Every public name has a docstring: the API reference (docs/reference/) is generated from them.

The public names are ``breeze_blue.__all__`` and ``breeze_blue.testing.__all__``, and the
public members of each class among them: methods, properties and attributes, inherited ones
included when they come from the package (``BreezeBlue`` gets its options from a private base
class). They are read the way the reference is built: by griffe, statically, as
mkdocstrings does (``mkdocs.yml``), so a name counts as documented exactly when the site
shows a description for it.

Attributes (dataclass fields, exception attributes set in ``__init__``) rarely carry a
docstring of their own in this code base: they are described in their class's docstring,
which the reference shows right under the class heading. So an attribute also counts as
documented when its class's docstring, or that of a base class in the package, lists it in
an ``Attributes:`` section or names it in double backticks (``name``). Methods, properties,
functions, classes and module-level constants need a docstring of their own.

The same public docstrings are written in the Google style as griffe reads it, with no
extension: none of the Napoleon (Sphinx) forms it would show wrongly or warn about under
``mkdocs build --strict`` (see ``napoleon_forms``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import griffe

import breeze_blue
import breeze_blue.testing

ROOT = Path(__file__).parent.parent
REFERENCE = ROOT / "docs" / "reference"
MODULES = {"breeze_blue": breeze_blue.__all__, "breeze_blue.testing": breeze_blue.testing.__all__}


def load() -> dict[str, griffe.Module]:
    loader = griffe.GriffeLoader(
        search_paths=[str(ROOT), str(ROOT / "generated")], docstring_parser=griffe.Parser.google
    )
    modules = {name: cast(griffe.Module, loader.load(name)) for name in MODULES}
    loader.resolve_aliases(external=False, implicit=False)
    return modules


def target(obj: griffe.Object | griffe.Alias) -> griffe.Object:
    return obj.final_target if isinstance(obj, griffe.Alias) else obj


def named_in(cls: griffe.Class, package: str = "breeze_blue") -> set[str]:
    """Attributes the class documents in its docstring, or its package base classes do."""
    names: set[str] = set()
    for klass in [cls, *cls.mro()]:
        if not klass.path.startswith(package) or klass.docstring is None:
            continue
        names |= set(re.findall(r"``(\w+)", klass.docstring.value))
        for section in klass.docstring.parse(griffe.Parser.google, warnings=False):
            if section.kind is griffe.DocstringSectionKind.attributes:
                names |= {attribute.name for attribute in section.value}
    return names


def public_objects(
    modules: dict[str, griffe.Module],
) -> Iterator[tuple[str, griffe.Object, griffe.Class | None]]:
    """Each public name (``module.Name`` or ``module.Name.member``), its object, its class."""
    for module_name, public in MODULES.items():
        module = modules[module_name]
        for name in public:
            obj = target(module[name])
            yield f"{module_name}.{name}", obj, None
            if not isinstance(obj, griffe.Class):
                continue
            for member_name, member in obj.all_members.items():
                if member_name.startswith("_"):
                    continue
                member_obj = target(member)
                if not member_obj.path.startswith("breeze_blue"):
                    continue  # inherited from outside the package (Exception, httpx...)
                yield f"{module_name}.{name}.{member_name}", member_obj, obj


def undocumented() -> list[str]:
    """Every public name (``module.Name`` or ``module.Name.member``) the reference leaves bare."""
    gaps: list[str] = []
    for name, obj, cls in public_objects(load()):
        if obj.docstring:
            continue
        if cls is not None and obj.is_attribute and obj.name in named_in(cls):
            continue
        gaps.append(name)
    return sorted(gaps)


ROLE = re.compile(r":(?:py:)?(?:class|meth|func|attr|exc|data|mod|obj):`[^`]*`")
SECTION = re.compile(r"(\w[\w ]*):")
GROUPED = re.compile(r"\w+(?:\s*,\s*\w+)+\s*(?:\(.*\))?\s*:")
NAME_SECTIONS = {"args", "arguments", "params", "parameters", "attributes"}  # "name: text"


def napoleon_forms(docstring: str) -> list[str]:
    """The Napoleon forms in ``docstring`` that griffe's Google-style parser does not read.

    An ``Example:`` section (griffe's is ``Examples:``); ``a, b: text`` in ``Args:`` (write
    one entry per name); a ``Raises:`` entry whose type list wraps onto the next line, so
    that its first line has no ``Type: text``; Sphinx roles, ``:class:`` and the like (write
    the name in double backticks, or a cross-reference: ``[Audio][breeze_blue.Audio]``).
    """
    found = [f"Sphinx role {role}" for role in ROLE.findall(docstring)]
    section, section_indent, entry_indent = "", -1, -1
    for line in docstring.splitlines():
        text = line.strip()
        indent = len(line) - len(line.lstrip())
        if not text:
            continue
        if re.fullmatch(r"Example::?", text):
            found.append(f"{text!r} instead of 'Examples:'")
        if header := SECTION.fullmatch(text):
            section, section_indent, entry_indent = header[1].lower(), indent, -1
            continue
        if indent <= section_indent:
            section, section_indent = "", -1
        if not section:
            continue
        if entry_indent < 0:
            entry_indent = indent
        if indent != entry_indent:
            continue  # an entry's continuation line
        if section in NAME_SECTIONS and GROUPED.match(text):
            found.append(f"grouped entry in {section.title()}: {text!r}")
        if section == "raises" and ":" not in text:
            found.append(f"Raises entry with no 'Type: text' (a wrapped type list?): {text!r}")
    return found


def test_every_public_name_is_one_griffe_sees() -> None:
    """The runtime ``__all__`` and what the reference is built from agree, name for name."""
    modules = load()
    for module_name, public in MODULES.items():
        for name in public:
            assert name in modules[module_name].members, f"{module_name}.{name}"
            target(modules[module_name][name])  # an alias resolves, or this raises


def test_every_public_name_has_a_docstring() -> None:
    gaps = undocumented()
    assert not gaps, "public names without a docstring:\n" + "\n".join(gaps)


def test_every_public_name_has_a_place_in_the_reference() -> None:
    """Each name of ``breeze_blue.__all__`` is rendered by a ``::: breeze_blue.Name`` block.

    ``breeze_blue.testing`` is rendered whole, members included, by one block of its own.
    """
    pages = "\n".join(p.read_text(encoding="utf-8") for p in REFERENCE.glob("*.md"))
    rendered = set(re.findall(r"^::: ([\w.]+)$", pages, flags=re.MULTILINE))
    public = {f"breeze_blue.{name}" for name in breeze_blue.__all__ if not name.startswith("__")}
    assert public <= rendered, f"not in docs/reference/: {sorted(public - rendered)}"
    assert "breeze_blue.testing" in rendered


def test_the_rule_catches_a_bare_name() -> None:
    """The check itself: a class with a bare method and a bare field is reported."""
    module = griffe.visit(
        "sample",
        filepath=Path("sample.py"),
        code=(
            "class Sample:\n"
            '    """A sample; ``named`` is described here."""\n'
            "    named: int\n"
            "    bare: int\n"
            "    def method(self) -> None:\n"
            "        pass\n"
        ),
    )
    sample = module["Sample"]
    assert isinstance(sample, griffe.Class)
    bare = sorted(
        name
        for name, member in sample.members.items()
        if not member.docstring and not (member.is_attribute and name in named_in(sample, "sample"))
    )
    assert bare == ["bare", "method"]


def test_public_docstrings_use_no_napoleon_only_forms() -> None:
    """What the site shows is what the docstring says: no form that griffe reads otherwise."""
    modules = load()
    documented: list[tuple[str, griffe.Object]] = list(modules.items())
    documented += [(name, obj) for name, obj, _ in public_objects(modules)]
    found = [
        f"{name}: {form}"
        for name, obj in documented
        if obj.docstring
        for form in napoleon_forms(obj.docstring.value)
    ]
    assert not found, "Napoleon forms griffe does not read:\n" + "\n".join(found)


def test_the_napoleon_check_catches_each_form() -> None:
    """The check itself: each of the four forms is reported, and their Google forms are not."""
    napoleon = (
        "Save :class:`Audio` with :meth:`read`.\n"
        "\n"
        "Args:\n"
        "    a, b: Both sides.\n"
        "    c: One side, in ``(x, y): z`` form.\n"
        "\n"
        "Raises:\n"
        "    KeyError, ValueError,\n"
        "    TypeError: A bad side.\n"
        "\n"
        "Example:\n"
        "    >>> f(1, 2)\n"
    )
    found = napoleon_forms(napoleon)
    assert len(found) == 5, found
    for form in [":class:`Audio`", ":meth:`read`", "'a, b: Both", "'KeyError, ValueError,'"]:
        assert any(form in each for each in found), (form, found)
    assert any("'Example:'" in each for each in found), found
    google = (
        "Save [`Audio`][breeze_blue.Audio] with ``read()``.\n"
        "\n"
        "Args:\n"
        "    a: Both sides, this one\n"
        "        and, wrapped, more: text.\n"
        "    b: Both sides.\n"
        "\n"
        "Raises:\n"
        "    KeyError: A bad side.\n"
        "    TypeError, ValueError: A bad side, on one line.\n"
        "\n"
        "Examples:\n"
        "    >>> f(1, 2)\n"
    )
    assert napoleon_forms(google) == []
