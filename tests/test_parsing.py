"""Unit tests for ``breeze_blue._core.parsing``: Retry-After, content-disposition, file names.

Every parser here reads text a server (or a proxy) chose, so besides the happy paths each
one is fed garbage and must answer ``None`` rather than raise.
"""

from __future__ import annotations

import math
import random
import time
import unicodedata
from email.utils import formatdate
from pathlib import PurePosixPath, PureWindowsPath

import pytest

from breeze_blue._core.parsing import (
    extension_for,
    parse_content_disposition,
    parse_retry_after,
    safe_filename,
)

# ---------------------------------------------------------------------------------------
# parse_retry_after
# ---------------------------------------------------------------------------------------

# RFC 9110 section 5.6.7's example instant, "Sun, 06 Nov 1994 08:49:37 GMT", as a timestamp.
RFC_EXAMPLE_INSTANT = 784111777.0
IMF_FIXDATE = "Sun, 06 Nov 1994 08:49:37 GMT"
RFC_850_DATE = "Sunday, 06-Nov-94 08:49:37 GMT"
ASCTIME_DATE = "Sun Nov  6 08:49:37 1994"


def at(instant: float):
    """A ``now`` callable frozen at ``instant``."""
    return lambda: instant


def test_rfc_example_instant_is_right() -> None:
    # Guards the constant the date tests below rely on.
    assert formatdate(RFC_EXAMPLE_INSTANT, usegmt=True) == IMF_FIXDATE


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0", 0.0),
        ("5", 5.0),
        ("120", 120.0),
        ("007", 7.0),
        ("1.5", 1.5),
        ("2.25", 2.25),
        ("0.001", 0.001),
        ("86400", 86400.0),
        (" 7 ", 7.0),
        ("\t3\t", 3.0),
        ("999999999999999", 999999999999999.0),
    ],
)
def test_retry_after_delta_seconds(value: str, expected: float) -> None:
    result = parse_retry_after(value, now=at(RFC_EXAMPLE_INSTANT))
    assert isinstance(result, float)
    assert result == pytest.approx(expected)


def test_retry_after_delta_seconds_does_not_depend_on_now() -> None:
    assert parse_retry_after("30", now=at(0.0)) == 30.0
    assert parse_retry_after("30", now=at(4_000_000_000.0)) == 30.0


@pytest.mark.parametrize("date", [IMF_FIXDATE, RFC_850_DATE, ASCTIME_DATE])
@pytest.mark.parametrize("seconds_before", [1.0, 120.0, 3600.0, 86400.0 * 3])
def test_retry_after_http_date_in_the_future(date: str, seconds_before: float) -> None:
    result = parse_retry_after(date, now=at(RFC_EXAMPLE_INSTANT - seconds_before))
    assert result == pytest.approx(seconds_before)


@pytest.mark.parametrize("date", [IMF_FIXDATE, RFC_850_DATE, ASCTIME_DATE])
@pytest.mark.parametrize("seconds_after", [0.0, 0.5, 1.0, 3600.0, 86400.0 * 365 * 30])
def test_retry_after_http_date_in_the_past_is_zero(date: str, seconds_after: float) -> None:
    result = parse_retry_after(date, now=at(RFC_EXAMPLE_INSTANT + seconds_after))
    assert result == 0.0
    assert math.copysign(1.0, result) == 1.0  # not -0.0


@pytest.mark.parametrize("date", [IMF_FIXDATE, RFC_850_DATE, ASCTIME_DATE])
def test_retry_after_http_date_surrounding_whitespace(date: str) -> None:
    result = parse_retry_after(f"  {date}  ", now=at(RFC_EXAMPLE_INSTANT - 10))
    assert result == pytest.approx(10.0)


def test_retry_after_three_date_forms_agree() -> None:
    now = at(RFC_EXAMPLE_INSTANT - 42)
    results = {parse_retry_after(d, now=now) for d in (IMF_FIXDATE, RFC_850_DATE, ASCTIME_DATE)}
    assert results == {42.0}


def test_retry_after_http_date_uses_the_injected_clock() -> None:
    calls: list[None] = []

    def now() -> float:
        calls.append(None)
        return RFC_EXAMPLE_INSTANT - 5

    assert parse_retry_after(IMF_FIXDATE, now=now) == pytest.approx(5.0)
    assert calls, "the injected clock was never read"


def test_retry_after_http_date_defaults_to_the_wall_clock() -> None:
    header = formatdate(time.time() + 100, usegmt=True)
    result = parse_retry_after(header)
    assert result is not None
    # formatdate drops the fraction of a second; allow a generous margin for slow CI.
    assert 80.0 < result <= 100.0


@pytest.mark.parametrize(
    "value",
    [
        "",
        " ",
        "  ",
        "\t\n",
        "soon",
        "later please",
        "-5",
        "-0.5",
        "+5",
        "5s",
        "5 5",
        "0x10",
        "1_000",
        "1,5",
        "inf",
        "-inf",
        "Infinity",
        "nan",
        "NaN",
        "1e400",
        "1e3",
        "Fri, 01 Jan 100000 00:00:00 GMT",
        "Fri, 01 Jan 99999999999999999999 00:00:00 GMT",
        "Sun, 06 Nov 1994 25:49:37 GMT",
        "Sun, 32 Nov 1994 08:49:37 GMT",
        "Sun, 06 Foo 1994 08:49:37 GMT",
        "Fri, 01 Jan 2000 00:00:00 +9999",
        "GMT",
        "Sun,",
        "\x00",
        "\x00" * 100,
        "9" * 16,
        "9" * 5000,
        "1." + "0" * 100_000,
        "x" * 100_000,
        "Sun, " + "1" * 100_000,
        "Sun, 06 Nov " + "9" * 10_000 + " 08:49:37 GMT",
    ],
)
def test_retry_after_garbage_is_none(value: str) -> None:
    assert parse_retry_after(value, now=at(RFC_EXAMPLE_INSTANT)) is None


def test_retry_after_none_is_none() -> None:
    assert parse_retry_after(None) is None
    assert parse_retry_after(None, now=at(0.0)) is None


def test_retry_after_never_raises_on_random_input() -> None:
    rng = random.Random(20241124)
    alphabet = "0123456789.,:+- GMTSunNovJanFri\t\x00é٣"
    for _ in range(3000):
        value = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        result = parse_retry_after(value, now=at(RFC_EXAMPLE_INSTANT))
        assert result is None or (math.isfinite(result) and result >= 0.0), value


# ---------------------------------------------------------------------------------------
# parse_content_disposition
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        # quoted-string and token forms
        ('attachment; filename="speech.mp3"', "speech.mp3"),
        ("attachment; filename=speech.mp3", "speech.mp3"),
        ('inline; filename="speech.wav"', "speech.wav"),
        ('attachment;filename="speech.mp3"', "speech.mp3"),
        ('attachment ; filename = "speech.mp3"', "speech.mp3"),
        ('attachment; FILENAME="Speech.MP3"', "Speech.MP3"),
        ('attachment; size=123; filename="speech.mp3"', "speech.mp3"),
        ('attachment; filename="speech.mp3"; size=123', "speech.mp3"),
        ('attachment; filename="my speech.mp3"', "my speech.mp3"),
        ('attachment; filename="a;b.mp3"', "a;b.mp3"),
        ('attachment; filename="a=b.mp3"', "a=b.mp3"),
        # escaped characters inside a quoted-string (a `"` is then replaced: Windows forbids it)
        (r'attachment; filename="say \"hi\".mp3"', "say _hi_.mp3"),
        (r'attachment; filename="\"quoted\".mp3"', "_quoted_.mp3"),
        (r'attachment; filename="a\bc.mp3"', "abc.mp3"),
        # the first filename wins over a repeated one
        ('attachment; filename="first.mp3"; filename="second.mp3"', "first.mp3"),
    ],
)
def test_content_disposition_filename(header: str, expected: str) -> None:
    assert parse_content_disposition(header) == expected


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("attachment; filename*=UTF-8''caf%C3%A9.mp3", "café.mp3"),
        ("attachment; filename*=utf-8''caf%C3%A9.mp3", "café.mp3"),
        ("attachment; filename*=UTF-8'fr'caf%C3%A9.mp3", "café.mp3"),
        ("attachment; filename*=UTF-8'en-GB'caf%C3%A9.mp3", "café.mp3"),
        ("attachment; filename*=UTF-8''%F0%9F%8E%B5%20song.mp3", "🎵 song.mp3"),
        ("attachment; filename*=UTF-8''%E6%97%A5%E6%9C%AC.wav", "日本.wav"),
        ("attachment; filename*=ISO-8859-1''caf%E9.mp3", "café.mp3"),
        ("attachment; filename*=iso-8859-1''na%EFve.flac", "naïve.flac"),
        ("attachment; FILENAME*=UTF-8''caf%C3%A9.mp3", "café.mp3"),
        ("attachment; filename*=UTF-8''plain.mp3", "plain.mp3"),
    ],
)
def test_content_disposition_extended_filename(header: str, expected: str) -> None:
    assert parse_content_disposition(header) == expected


@pytest.mark.parametrize(
    "header",
    [
        "attachment; filename=\"fallback.mp3\"; filename*=UTF-8''caf%C3%A9.mp3",
        "attachment; filename*=UTF-8''caf%C3%A9.mp3; filename=\"fallback.mp3\"",
        "attachment; filename=fallback.mp3; filename*=UTF-8''caf%C3%A9.mp3",
    ],
)
def test_content_disposition_extended_filename_wins(header: str) -> None:
    assert parse_content_disposition(header) == "café.mp3"


def test_content_disposition_iso_8859_1_wins_over_filename() -> None:
    header = "attachment; filename=\"fallback.mp3\"; filename*=ISO-8859-1''caf%E9.mp3"
    assert parse_content_disposition(header) == "café.mp3"


@pytest.mark.parametrize(
    "extended",
    [
        "x-no-such-charset''caf%C3%A9.mp3",  # unknown charset
        "rot13''caf%C3%A9.mp3",  # a codec, but not a text encoding
        "base64''caf%C3%A9.mp3",
        "UTF-8''caf%E9.mp3",  # not valid UTF-8
        "UTF-8''%FF%FE.mp3",
        "UTF-8''%C3",  # truncated sequence
        "caf%C3%A9.mp3",  # no charset'' prefix
        "UTF-8'caf%C3%A9.mp3",  # only one quote
        "",
        "UTF-8''",  # decodes to nothing
        "UTF-8''..%2F..%2F",  # decodes to no usable name
        "UTF-8''%00%01",
    ],
)
def test_content_disposition_bad_extended_falls_back_to_filename(extended: str) -> None:
    header = f'attachment; filename="fallback.mp3"; filename*={extended}'
    assert parse_content_disposition(header) == "fallback.mp3"


@pytest.mark.parametrize(
    "extended",
    ["x-no-such-charset''caf%C3%A9.mp3", "UTF-8''caf%E9.mp3", "caf%C3%A9.mp3", "UTF-8''"],
)
def test_content_disposition_bad_extended_alone_is_none(extended: str) -> None:
    assert parse_content_disposition(f"attachment; filename*={extended}") is None


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        # POSIX traversal and absolute paths
        ('attachment; filename="../../etc/passwd"', "passwd"),
        ("attachment; filename=../../etc/passwd", "passwd"),
        ('attachment; filename="/etc/passwd"', "passwd"),
        ('attachment; filename="/tmp/../../root/.ssh/authorized_keys"', "authorized_keys"),
        ('attachment; filename="a/b/c/speech.mp3"', "speech.mp3"),
        ("attachment; filename*=UTF-8''..%2F..%2Fetc%2Fpasswd", "passwd"),
        ("attachment; filename*=UTF-8''%2Fetc%2Fshadow", "shadow"),
        # backslash (Windows) paths: as a token, escaped in a quoted-string, percent-encoded
        (r"attachment; filename=..\..\boot.ini", "boot.ini"),
        (r'attachment; filename="..\\..\\boot.ini"', "boot.ini"),
        (r'attachment; filename="C:\\Windows\\win.ini"', "win.ini"),
        (r'attachment; filename="\\\\server\\share\\speech.mp3"', "speech.mp3"),
        ("attachment; filename*=UTF-8''..%5C..%5CWindows%5Cwin.ini", "win.ini"),
        ("attachment; filename*=UTF-8''..%5C..%2Fmixed%5Cspeech.mp3", "speech.mp3"),
    ],
)
def test_content_disposition_strips_directories(header: str, expected: str) -> None:
    assert parse_content_disposition(header) == expected


@pytest.mark.parametrize(
    "header",
    [
        'attachment; filename=".."',
        'attachment; filename="."',
        'attachment; filename="/"',
        'attachment; filename="../"',
        'attachment; filename="../../"',
        r'attachment; filename="..\\"',
        "attachment; filename*=UTF-8''..%2F",
        'attachment; filename="..."',
        'attachment; filename=". . ."',
    ],
)
def test_content_disposition_only_a_directory_is_none(header: str) -> None:
    assert parse_content_disposition(header) is None


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("attachment; filename*=UTF-8''a%00b.mp3", "ab.mp3"),
        ("attachment; filename*=UTF-8''speech.mp3%00.exe", "speech.mp3.exe"),
        ("attachment; filename*=UTF-8''a%01%1F%7Fb.mp3", "ab.mp3"),
        ("attachment; filename*=UTF-8''a%0D%0Ab.mp3", "ab.mp3"),
        ("attachment; filename*=UTF-8''a%09b.mp3", "ab.mp3"),
        ("attachment; filename*=UTF-8''a%C2%85b.mp3", "ab.mp3"),  # U+0085 NEL (C1)
        # U+202E RIGHT-TO-LEFT OVERRIDE would make "evil\u202e3pm.exe" look like "evilexe.mp3"
        ("attachment; filename*=UTF-8''evil%E2%80%AE3pm.exe", "evil3pm.exe"),
        ("attachment; filename*=UTF-8''a%E2%80%8Bb.mp3", "ab.mp3"),  # zero-width space
        ('attachment; filename="a\x00b.mp3"', "ab.mp3"),
        ('attachment; filename="\x00\x01speech.mp3"', "speech.mp3"),
    ],
)
def test_content_disposition_drops_control_characters(header: str, expected: str) -> None:
    assert parse_content_disposition(header) == expected


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ('attachment; filename="CON.mp3"', "_CON.mp3"),
        ('attachment; filename="con.mp3"', "_con.mp3"),
        ('attachment; filename="NUL"', "_NUL"),
        ("attachment; filename=aux.tar.gz", "_aux.tar.gz"),
        ("attachment; filename*=UTF-8''PRN.wav", "_PRN.wav"),
        ('attachment; filename="../COM1.flac"', "_COM1.flac"),
        ('attachment; filename="lpt9.opus"', "_lpt9.opus"),
    ],
)
def test_content_disposition_windows_reserved_names(header: str, expected: str) -> None:
    assert parse_content_disposition(header) == expected


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        " ",
        "attachment",
        "inline",
        "attachment;",
        "attachment; ",
        ";;;;",
        "attachment; filename",
        'attachment; filename=""',
        "attachment; filename=",
        'attachment; filename="   "',
        'attachment; filename="\x00\x00"',
        "attachment; filename*=",
        'attachment; name="field"; size=3; creation-date="x"',
        "\x00\x01\x02",
        "garbage \u2603 \ud800 text",
        "attachment; " + "x" * 100_000,
        "attachment; filename=" + ";" * 10_000,
        'attachment; filename="' + "\\" * 10_001,
    ],
)
def test_content_disposition_without_a_usable_name_is_none(value: str | None) -> None:
    assert parse_content_disposition(value) is None


def test_content_disposition_very_long_name_is_truncated_keeping_the_extension() -> None:
    result = parse_content_disposition(f'attachment; filename="{"a" * 1000}.mp3"')
    assert result is not None
    assert len(result.encode("utf-8")) <= 200
    assert result.endswith(".mp3")
    assert result.startswith("aaaa")


def test_content_disposition_very_long_extended_name_is_truncated() -> None:
    header = "attachment; filename*=UTF-8''" + "%C3%A9" * 500 + ".wav"
    result = parse_content_disposition(header)
    assert result is not None
    assert len(result.encode("utf-8")) <= 200
    assert result.endswith(".wav")
    assert set(result[: -len(".wav")]) == {"é"}


# Characters a hostile header might be built from.
_HOSTILE = [
    "a",
    "Z",
    "0",
    ".",
    "..",
    "/",
    "\\",
    ";",
    "=",
    '"',
    "'",
    "*",
    "%",
    "%2F",
    "%5C",
    "%00",
    "%C3%A9",
    "%FF",
    " ",
    "\t",
    "\x00",
    "\x7f",
    "é",
    "\u202e",
    "\ud800",
    "filename",
    "filename*",
    "UTF-8''",
    "CON",
    ":",
]


def test_content_disposition_never_raises_and_result_is_a_bare_name() -> None:
    rng = random.Random(6266)
    for _ in range(3000):
        body = "".join(rng.choice(_HOSTILE) for _ in range(rng.randint(0, 30)))
        header = rng.choice(["attachment; ", "inline;", "", "attachment; filename="]) + body
        result = parse_content_disposition(header)
        if result is None:
            continue
        assert isinstance(result, str)
        assert result, header
        assert "/" not in result, header
        assert "\\" not in result, header
        assert result not in {".", ".."}, header
        assert not any(unicodedata.category(ch)[0] == "C" for ch in result), header
        assert len(result.encode("utf-8", errors="surrogatepass")) <= 200, header


# ---------------------------------------------------------------------------------------
# safe_filename
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("speech.mp3", "speech.mp3"),
        ("my speech (1).mp3", "my speech (1).mp3"),
        ("café.mp3", "café.mp3"),
        ("cafe\u0301.mp3", "café.mp3"),  # NFD input comes out NFC
        ("  speech.mp3  ", "speech.mp3"),
        ("speech.mp3.", "speech.mp3"),
        ("speech.mp3 . .", "speech.mp3"),
        (".hidden", "hidden"),
        ("...mp3", "mp3"),
        ("../speech.mp3", "speech.mp3"),
        ("../../etc/passwd", "passwd"),
        ("/etc/passwd", "passwd"),
        ("..\\..\\boot.ini", "boot.ini"),
        ("C:\\Windows\\System32\\drivers\\etc\\hosts", "hosts"),
        ("\\\\?\\C:\\x.mp3", "x.mp3"),
        ("dir/sub\\mixed/speech.mp3", "speech.mp3"),
        ("a\x00b.mp3", "ab.mp3"),
        ("\x1b[31mred.mp3", "[31mred.mp3"),
        ("tab\there.mp3", "tabhere.mp3"),
        ("CON.mp3", "_CON.mp3"),
        ("con", "_con"),
        ("Con.Mp3", "_Con.Mp3"),
        ("PRN.txt", "_PRN.txt"),
        ("AUX", "_AUX"),
        ("nul.tar.gz", "_nul.tar.gz"),
        ("COM1.wav", "_COM1.wav"),
        ("com9", "_com9"),
        ("LPT1.flac", "_LPT1.flac"),
        ("LPT9", "_LPT9"),
        ("../CON.mp3", "_CON.mp3"),
        # only exact device names are renamed
        ("CONSOLE.mp3", "CONSOLE.mp3"),
        ("XCON.mp3", "XCON.mp3"),
        ("COM0.mp3", "COM0.mp3"),
        ("COM10.mp3", "COM10.mp3"),
        ("LPT.mp3", "LPT.mp3"),
        ("speech.CON", "speech.CON"),
    ],
)
def test_safe_filename(name: str, expected: str) -> None:
    assert safe_filename(name) == expected


@pytest.mark.parametrize(
    "name",
    ["", " ", ".", "..", "...", "/", "\\", "../", "..\\..\\", "a/", "\x00", "\x00\x01", " . . "],
)
def test_safe_filename_nothing_left_is_none(name: str) -> None:
    assert safe_filename(name) is None


@pytest.mark.parametrize(
    "name",
    ["speech.mp3", "_CON.mp3", "café.flac", "my speech (1).mp3", "a" * 196 + ".mp3"],
)
def test_safe_filename_is_idempotent_on_safe_names(name: str) -> None:
    assert safe_filename(name) == name
    assert safe_filename(safe_filename(name) or "") == name


@pytest.mark.parametrize(
    ("name", "extension"),
    [
        ("a" * 300 + ".mp3", ".mp3"),
        ("a" * 197 + ".mp3", ".mp3"),  # 201 bytes: just over
        ("é" * 300 + ".mp3", ".mp3"),  # two bytes a character
        ("日" * 300 + ".flac", ".flac"),  # three bytes a character
        ("🎵" * 300 + ".opus", ".opus"),  # four bytes a character
        ("a" * 300 + ".tar.gz", ".gz"),
        ("a" * 300 + ".0123456789abcdef", ".0123456789abcdef"),  # a 16-character extension
        ("CON" + "a" * 300 + ".mp3", ".mp3"),
    ],
)
def test_safe_filename_truncates_long_names_keeping_the_extension(
    name: str, extension: str
) -> None:
    result = safe_filename(name)
    assert result is not None
    assert len(result.encode("utf-8")) <= 200
    assert result.endswith(extension)
    stem = result[: -len(extension)]
    assert stem, "the whole stem was cut away"
    assert name.startswith(stem), "truncation must keep the start of the name"
    # No character was cut in half.
    assert result.encode("utf-8").decode("utf-8") == result


@pytest.mark.parametrize("length", [1, 100, 199, 200])
def test_safe_filename_names_up_to_200_bytes_are_unchanged(length: int) -> None:
    name = "b" * (length - 4) + ".mp3" if length > 4 else "b" * length
    assert safe_filename(name) == name


def test_safe_filename_long_name_without_extension() -> None:
    result = safe_filename("z" * 1000)
    assert result == "z" * 200


def test_safe_filename_long_overlong_extension_is_not_kept() -> None:
    # An "extension" of more than 16 characters is not treated as one.
    result = safe_filename("a" * 150 + "." + "b" * 100)
    assert result is not None
    assert len(result.encode("utf-8")) <= 200
    assert result.startswith("a" * 150)


@pytest.mark.parametrize(
    "name",
    [
        # Leading dots are stripped once, then whitespace; a second dot survives.
        ". .htaccess",
        ". . .bashrc",
        ".\u3000.profile",
        " . .ssh",
    ],
)
def test_safe_filename_never_returns_a_hidden_name(name: str) -> None:
    # BUG: _parsing.py:147 strips dots, then spaces, once: ". .htaccess" -> ".htaccess".
    result = safe_filename(name)
    assert result is None or not result.startswith("."), result


@pytest.mark.parametrize(
    "header",
    ['attachment; filename=". .htaccess"', "attachment; filename*=UTF-8''.%20.bashrc"],
)
def test_content_disposition_never_returns_a_hidden_name(header: str) -> None:
    result = parse_content_disposition(header)
    assert result is None or not result.startswith("."), result


@pytest.mark.parametrize(
    "name",
    [
        "x" * 199 + "." + "y" * 100,  # extension too long to keep: cut right after the dot
        "a" * 199 + " " + "b" * 100,  # cut right after a space
        "a" * 190 + " . . . . . " + "b" * 100,
    ],
)
def test_safe_filename_truncation_leaves_no_trailing_dot_or_space(name: str) -> None:
    # BUG: _parsing.py:155-161 truncate after the trailing-dot/space strip on line 149.
    result = safe_filename(name)
    assert result is not None
    assert len(result.encode("utf-8")) <= 200
    assert not result.endswith((".", " ")), repr(result[-5:])


@pytest.mark.parametrize("name", ["C:evil.mp3", "c:evil.mp3", "Z:speech.wav"])
def test_safe_filename_result_stays_inside_the_folder_on_windows(name: str) -> None:
    # BUG: "C:evil.mp3" is a drive-relative path on Windows: joined to any folder it
    # replaces it, so the file lands in the current directory of drive C:.
    result = safe_filename(name)
    assert result is not None
    folder = PureWindowsPath("D:/downloads")
    assert (folder / result).parent == folder, folder / result
    assert PurePosixPath(result).name == result


@pytest.mark.parametrize(
    "name",
    [
        "CON .mp3",  # Windows ignores trailing spaces before the extension
        "nul .txt",
        "CONIN$",
        "CONOUT$.txt",
        "COM\u00b9.mp3",  # superscript digits count as digits for COM/LPT
        "LPT\u00b2",
    ],
)
def test_safe_filename_other_windows_device_names(name: str) -> None:
    # BUG: _WINDOWS_RESERVED (_parsing.py:125) misses CONIN$/CONOUT$ and COM/LPT with
    # superscript digits, and line 153 does not rstrip spaces from the stem (CPython 3.13's
    # ntpath.isreserved does all three).
    result = safe_filename(name)
    assert result == "_" + name


# ---------------------------------------------------------------------------------------
# extension_for
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        ("audio/mpeg", ".mp3"),
        ("audio/wav", ".wav"),
        ("audio/flac", ".flac"),
        ("audio/aac", ".aac"),
        ("audio/opus", ".opus"),
        ("audio/pcm", ".pcm"),
        # parameters, case and whitespace are ignored
        ("audio/mpeg; charset=binary", ".mp3"),
        ("audio/mpeg;", ".mp3"),
        ("audio/pcm; rate=44100; channels=2", ".pcm"),
        ("AUDIO/MPEG", ".mp3"),
        ("Audio/Wav; X=Y", ".wav"),
        ("  audio/flac  ", ".flac"),
        (" audio/opus ; codecs=opus", ".opus"),
        ("audio/AAC;foo=bar", ".aac"),
    ],
)
def test_extension_for_known_types(content_type: str, expected: str) -> None:
    assert extension_for(content_type) == expected


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "",
        " ",
        ";",
        "audio",
        "audio/",
        "audio/x-unknown",
        "audio/mpeg3",
        "audio/mp3",
        "audio/ogg",
        "audiompeg",
        "audio /mpeg",
        "video/mp4",
        "application/octet-stream",
        "application/json",
        "text/html; charset=utf-8",
        "mpeg",
        "x" * 10_000,
        "\x00",
    ],
)
def test_extension_for_unknown_is_bin(content_type: str | None) -> None:
    assert extension_for(content_type) == ".bin"
