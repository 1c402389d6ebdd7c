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
an ``Attributes:`` section, which the reference shows as a table of names, types and
descriptions. Naming it in the prose (``name``) is not enough: nothing then says what it
is. Methods, properties, functions, classes and module-level constants need a docstring of
their own.

A block of ``docs/reference/`` with ``show_if_no_docstring: true`` gives every public
member a heading, a docstring-less attribute too, with an empty body under it: there, each
member needs a docstring of its own (see ``empty_bodies``).

The same public docstrings are written in the Google style as griffe reads it, with no
extension: none of the Napoleon (Sphinx) forms it would show wrongly or warn about under
``mkdocs build --strict`` (see ``napoleon_forms``).
"""

from __future__ import annotations

import ast
import inspect
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

import griffe
import yaml

import breeze_blue
import breeze_blue.testing
from breeze_blue._base import BaseClient
from breeze_blue._core.options import DEFAULT_MAX_RETRIES
from breeze_blue.testing import _plugin

ROOT = Path(__file__).parent.parent
REFERENCE = ROOT / "docs" / "reference"
MODULES = {"breeze_blue": breeze_blue.__all__, "breeze_blue.testing": breeze_blue.testing.__all__}
# The pytest plugin's fixtures: documented in the Testing reference, not exported by a module.
PLUGIN = "breeze_blue.testing._plugin"
FIXTURES = _plugin.__all__


def load() -> dict[str, griffe.Module]:
    loader = griffe.GriffeLoader(
        search_paths=[str(ROOT), str(ROOT / "generated")], docstring_parser=griffe.Parser.google
    )
    modules = {name: cast(griffe.Module, loader.load(name)) for name in MODULES}
    loader.resolve_aliases(external=False, implicit=False)
    return modules


def load_plugin() -> griffe.Object | griffe.Alias:
    """The pytest plugin module, read as the reference reads it."""
    return load()["breeze_blue.testing"]["_plugin"]


def target(obj: griffe.Object | griffe.Alias) -> griffe.Object:
    return obj.final_target if isinstance(obj, griffe.Alias) else obj


def named_in(cls: griffe.Class, package: str = "breeze_blue") -> set[str]:
    """Attributes the ``Attributes:`` section of the class's docstring describes, or that of
    one of its package base classes (a mere mention in the prose does not count)."""
    names: set[str] = set()
    for klass in [cls, *cls.mro()]:
        if not klass.path.startswith(package) or klass.docstring is None:
            continue
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
GROUPED = re.compile(r"[\w.]+(?:\s*,\s*[\w.]+)+\s*(?:\(.*\))?\s*:")
# "name: text" (or "Type: text"): one name per entry. griffe would read "a, b: text" in
# Args as a parameter called "a, b", and in Raises show a row for the tuple "(A, B)".
NAME_SECTIONS = {"args", "arguments", "params", "parameters", "attributes", "raises"}


def napoleon_forms(docstring: str) -> list[str]:
    """The Napoleon forms in ``docstring`` that griffe's Google-style parser does not read.

    An ``Example:`` section (griffe's is ``Examples:``); ``a, b: text`` in ``Args:`` or
    ``Attributes:``, or ``A, B: text`` in ``Raises:`` (write one entry per name or type); a
    ``Raises:`` entry whose type list wraps onto the next line, so that its first line has
    no ``Type: text``; Sphinx roles, ``:class:`` and the like (write the name in double
    backticks, or a cross-reference: ``[Audio][breeze_blue.Audio]``).
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
    """Each public name is rendered by a block of its own in ``docs/reference/``.

    ``::: breeze_blue.Name`` for ``breeze_blue.__all__``; ``::: breeze_blue.testing.Name``
    for ``breeze_blue.testing.__all__`` (its page groups them, under the module's own
    docstring, ``::: breeze_blue.testing``); and the pytest plugin's fixtures, which are
    no module's attributes, by their path in ``breeze_blue.testing._plugin``.
    """
    pages = "\n".join(p.read_text(encoding="utf-8") for p in REFERENCE.glob("*.md"))
    rendered = set(re.findall(r"^::: ([\w.]+)$", pages, flags=re.MULTILINE))
    public = {
        f"{module_name}.{name}"
        for module_name, names in MODULES.items()
        for name in names
        if not name.startswith("__")
    }
    public |= {f"{PLUGIN}.{name}" for name in FIXTURES}
    assert public <= rendered, f"not in docs/reference/: {sorted(public - rendered)}"
    assert "breeze_blue.testing" in rendered


def test_the_pytest_fixtures_say_what_they_yield() -> None:
    """The fixtures' docstrings are what their section of the reference shows."""
    plugin = cast(griffe.Module, load_plugin())
    for name in FIXTURES:
        fixture = plugin[name]
        assert fixture.docstring, name
        sections = fixture.docstring.parse(griffe.Parser.google, warnings=False)
        kinds = {section.kind for section in sections}
        assert griffe.DocstringSectionKind.yields in kinds, name
        assert not napoleon_forms(fixture.docstring.value), name


def test_the_aiohttp_client_is_documented_as_itself() -> None:
    """The reference shows ``DefaultAioHttpClient``, not the stand-in for a missing extra.

    ``_aiohttp.py`` defines the class twice, one of them at run time; griffe, reading the
    source, keeps the last definition, which must be the real class.
    """
    aiohttp = target(load()["breeze_blue"]["DefaultAioHttpClient"])
    assert isinstance(aiohttp, griffe.Class)
    assert aiohttp.docstring is not None
    docstring = aiohttp.docstring.value
    assert docstring.startswith("An ``httpx.AsyncClient`` whose connections are aiohttp's")
    assert "Stands in" not in docstring
    assert [str(base) for base in aiohttp.bases] == ["HttpxAiohttpClient"]
    init = aiohttp.members["__init__"]
    assert isinstance(init, griffe.Function)
    assert [p.name for p in init.parameters] == ["self", "kwargs"]
    try:
        import httpx_aiohttp  # noqa: F401, PLC0415
    except ImportError:
        return
    # With the extra installed, the class that runs is the one documented.
    assert inspect.getdoc(breeze_blue.DefaultAioHttpClient) == inspect.cleandoc(docstring)


# What the reference (and a type checker) shows for each client's constructor: the types of
# the two arguments that differ; the others are the base class's, as the runtime signature.
CLIENT_TYPES = {
    "BreezeBlue": {
        "http_client": "httpx.Client | None",
        "sleep": "Callable[[float], None] | None",
    },
    "AsyncBreezeBlue": {
        "http_client": "httpx.AsyncClient | None",
        "sleep": "Callable[[float], Awaitable[None]] | None",
    },
}


def test_the_clients_show_concrete_signatures_that_match_the_one_that_runs() -> None:
    """``BreezeBlue`` and ``AsyncBreezeBlue`` declare their ``__init__`` for type checkers and
    the reference only (under ``TYPE_CHECKING``): the generic base class's runs. The two
    agree in names, kinds, defaults (``max_retries`` is written ``2`` there, and must stay
    ``DEFAULT_MAX_RETRIES``) and types, but for ``http_client`` and ``sleep``, which are
    concrete where the base class has its type variables."""
    modules = load()
    runs = inspect.signature(BaseClient.__init__).parameters
    assert runs["max_retries"].default == DEFAULT_MAX_RETRIES
    for name, types in CLIENT_TYPES.items():
        client = target(modules["breeze_blue"][name])
        assert isinstance(client, griffe.Class)
        init = client.members["__init__"]  # its own, not the base class's
        assert isinstance(init, griffe.Function)
        shown = init.parameters
        assert [p.name for p in shown] == list(runs), name
        for parameter in shown:
            running = runs[parameter.name]
            assert parameter.kind.value == running.kind.description, (name, parameter.name)
            if parameter.name == "self":
                continue
            assert parameter.default is not None, (name, parameter.name)
            default = ast.literal_eval(str(parameter.default))
            assert default == running.default, (name, parameter.name)
            expected = types.get(parameter.name, running.annotation)
            assert str(parameter.annotation) == expected, (name, parameter.name)
        assert str(init.returns) == "None"


def unannotated(public: Iterator[tuple[str, griffe.Object, griffe.Class | None]]) -> list[str]:
    """The public attributes of public classes that have no type for the reference to show."""
    return sorted(
        name
        for name, obj, cls in public
        if cls is not None and obj.is_attribute and obj.annotation is None
    )


def test_every_public_attribute_has_a_type() -> None:
    """Each attribute of a public class is annotated where it is assigned or declared
    (``self.status_code: int = status_code``), so the reference shows its type: in its
    signature, and in the Type column of its class's ``Attributes:`` table."""
    gaps = unannotated(public_objects(load()))
    assert not gaps, "public attributes without a type annotation:\n" + "\n".join(gaps)


def sample_module(code: str) -> griffe.Module:
    """``code`` read by griffe as the module ``sample``: what the rules' self-tests check."""
    return griffe.visit("sample", filepath=Path("sample.py"), code=code)


def test_the_type_rule_catches_an_unannotated_attribute() -> None:
    """The check itself: ``self.x = x`` in ``__init__`` is reported, annotated forms are not."""
    module = sample_module(
        "class Sample:\n"
        "    declared: int\n"
        "    def __init__(self, bare: int, typed: int) -> None:\n"
        "        self.bare = bare\n"
        "        self.typed: int = typed\n"
        "    @property\n"
        "    def shown(self) -> int:\n"
        "        return 1\n"
        "    @property\n"
        "    def untyped(self):\n"
        "        return 1\n"
    )
    sample = module["Sample"]
    assert isinstance(sample, griffe.Class)
    members = (
        (f"sample.Sample.{name}", target(member), sample)
        for name, member in sample.members.items()
        if not name.startswith("_")
    )
    assert unannotated(members) == ["sample.Sample.bare", "sample.Sample.untyped"]


def test_the_rule_catches_a_bare_name() -> None:
    """The check itself: a bare method, a bare field and a field the class's prose only
    names are reported; a field with a docstring or an ``Attributes:`` entry is not."""
    module = sample_module(
        "from dataclasses import dataclass\n"
        "@dataclass\n"
        "class Sample:\n"
        '    """A sample; ``mentioned`` is only named here.\n'
        "\n"
        "    Attributes:\n"
        "        listed: Described here.\n"
        '    """\n'
        "    listed: int\n"
        "    mentioned: int\n"
        "    own: int\n"
        '    """Described here."""\n'
        "    bare: int\n"
        "    def method(self) -> None:\n"
        "        pass\n"
    )
    sample = module["Sample"]
    assert isinstance(sample, griffe.Class)
    bare = sorted(
        name
        for name, member in sample.members.items()
        if not name.startswith("_")
        and not member.docstring
        and not (member.is_attribute and name in named_in(sample, "sample"))
    )
    assert bare == ["bare", "mentioned", "method"]


BLOCK = re.compile(r"^::: ([\w.]+)\n((?:    .*\n)*)", flags=re.MULTILINE)


def handler_options() -> dict[str, Any]:
    """The mkdocstrings options ``mkdocs.yml`` gives every block."""
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    plugins = [p for p in config["plugins"] if isinstance(p, dict) and "mkdocstrings" in p]
    options: dict[str, Any] = plugins[0]["mkdocstrings"]["handlers"]["python"]["options"]
    return options


def empty_bodies(
    page: str, lookup: Callable[[str], griffe.Object | griffe.Alias], defaults: dict[str, Any]
) -> list[str]:
    """The objects a reference page shows as a heading with nothing under it.

    A block (``::: path``, then its ``options:``) with ``show_if_no_docstring: true``
    renders its object and each public member (inherited ones too, with
    ``inherited_members``) whether or not it has a docstring; one without a docstring is
    a bare heading, even when its class's ``Attributes:`` table describes it.
    """
    found: list[str] = []
    for match in BLOCK.finditer(page):
        block = yaml.safe_load(match[2]) or {}
        options = {**defaults, **(block.get("options") or {})}
        if not options.get("show_if_no_docstring", False):
            continue
        obj = target(lookup(match[1]))
        package = obj.path.split(".")[0]
        if not obj.docstring:
            found.append(obj.path)
        if options.get("members", True) is False or not isinstance(obj, griffe.Class):
            continue
        members = obj.all_members if options.get("inherited_members") else obj.members
        for name, member in members.items():
            if name.startswith("_"):
                continue
            member_obj = target(member)
            if member_obj.path.startswith(package) and not member_obj.docstring:
                found.append(f"{match[1]}.{name}")
    return found


def test_no_reference_block_shows_an_empty_heading() -> None:
    """Under ``show_if_no_docstring: true`` every member shown has a docstring of its own."""
    modules = load()

    def lookup(path: str) -> griffe.Object | griffe.Alias:
        top, *rest = path.split(".")
        obj: griffe.Object | griffe.Alias = modules.get(path) or modules[top]
        if path not in modules:
            for part in rest:
                obj = obj[part]
        return obj

    defaults = handler_options()
    found = [
        f"{page.name}: {name}"
        for page in sorted(REFERENCE.glob("*.md"))
        for name in empty_bodies(page.read_text(encoding="utf-8"), lookup, defaults)
    ]
    assert not found, "shown as a heading with no description under it:\n" + "\n".join(found)


def test_the_empty_heading_rule_catches_a_bare_field() -> None:
    """The check itself: only the block that shows bare members reports them."""
    module = sample_module(
        "class Sample:\n"
        '    """A sample.\n'
        "\n"
        "    Attributes:\n"
        "        listed: Described in the table only.\n"
        '    """\n'
        "    listed: int\n"
        "    own: int\n"
        '    """Described here."""\n'
        "class Bare:\n"
        "    pass\n"
    )
    page = (
        "# Sample\n\n"
        "::: sample.Sample\n"
        "    options:\n"
        "      heading_level: 3\n"
        "      show_if_no_docstring: true\n"
        "\n"
        "::: sample.Sample\n"
        "\n"
        "::: sample.Bare\n"
        "    options:\n"
        "      show_if_no_docstring: true\n"
        "      members: false\n"
    )
    found = empty_bodies(page, lambda path: module[path.removeprefix("sample.")], {})
    assert found == ["sample.Sample.listed", "sample.Bare"]


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
    """The check itself: each of the forms is reported, and their Google forms are not."""
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
        "    OSError, httpx.HTTPError: A bad side, on one line.\n"
        "\n"
        "Example:\n"
        "    >>> f(1, 2)\n"
    )
    found = napoleon_forms(napoleon)
    assert len(found) == 6, found
    for form in [
        ":class:`Audio`",
        ":meth:`read`",
        "'a, b: Both",
        "'KeyError, ValueError,'",
        "grouped entry in Raises: 'OSError, httpx.HTTPError: A bad",
    ]:
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
        "    TypeError: A bad side, with a comma, and ``(a, b): c`` in it.\n"
        "    httpx.HTTPError: A bad side, far away.\n"
        "\n"
        "Examples:\n"
        "    >>> f(1, 2)\n"
    )
    assert napoleon_forms(google) == []
