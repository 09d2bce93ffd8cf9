"""The one place registry names, aliases, tags, versions and stages are validated.

The rules follow MLflow's registry (docs/explanation/mlflow-format.md §10) so a name that works there works here.
"""

from __future__ import annotations

import posixpath
import re
from typing import Any

from modelshelf._names import MAX_KEY, check_key
from modelshelf.errors import InvalidInputError, InvalidNameError

__all__ = [
    "MAX_ALIAS",
    "MAX_NAME",
    "MAX_TAG_KEY",
    "MAX_TAG_VALUE",
    "STAGES",
    "check_alias",
    "check_model_name",
    "check_stage",
    "check_tag",
    "check_tag_key",
    "check_text",
    "check_unicode",
    "check_version",
]

MAX_NAME = 256
MAX_ALIAS = 255
MAX_TAG_KEY = MAX_KEY
MAX_TAG_VALUE = 100_000
MAX_DESCRIPTION = 100_000
STAGES = ("None", "Staging", "Production", "Archived")
_STAGE_BY_LOWER = {stage.lower(): stage for stage in STAGES}

_ALIAS = re.compile(r"^[\w\-]+$")
_RESERVED_VERSION_ALIAS = re.compile(r"^[vV]\d+$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def check_unicode(text: str, what: str, error: type[InvalidInputError] = InvalidInputError) -> str:
    """Refuse text that UTF-8 cannot encode (lone surrogates, e.g. from undecodable bytes).

    Every string of a commit is stored as UTF-8, so such text could never be written.

    Raises:
        InvalidInputError (or ``error``): the text holds a lone surrogate.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        bad = text[exc.start : exc.end]
        raise error(
            f"{what} {_preview(text)} holds {bad!r} at position {exc.start}, a lone surrogate: "
            "not valid Unicode, so it cannot be stored. Pass proper text (decode bytes with "
            "their real encoding first)"
        ) from None
    return text


def _preview(text: str) -> str:
    return repr(text) if len(text) <= 40 else f"{text[:40]!r}…"


def check_model_name(name: Any) -> str:
    """Validate a registered model name (MLflow's rules) and return it.

    Raises:
        InvalidNameError: empty/blank, holds ``/``, ``:`` or control characters, is ``.``,
            starts with ``..``, or is longer than 256 characters.
    """
    if not isinstance(name, str):
        raise InvalidNameError(f"a registered model name must be a string, got {name!r}")
    if not name.strip():
        raise InvalidNameError("a registered model name must not be empty or blank")
    check_unicode(name, "registered model name", InvalidNameError)
    if "/" in name or ":" in name:
        raise InvalidNameError(
            f"registered model name {name!r} must not contain '/' or ':' "
            "(they separate parts of models:/ URIs)"
        )
    if _CONTROL.search(name):
        raise InvalidNameError(f"registered model name {name!r} contains a control character")
    if name == "." or name.startswith("..") or posixpath.normpath(name) != name:
        raise InvalidNameError(f"registered model name {name!r} is not a normalised name")
    if len(name) > MAX_NAME:
        raise InvalidNameError(
            f"registered model name {name[:40]!r}… is {len(name)} characters; the limit is {MAX_NAME}"
        )
    return name


def check_alias(alias: Any) -> str:
    """Validate an alias: word characters and ``-``, not ``latest``, not ``v<N>``.

    Raises:
        InvalidNameError: the alias breaks a rule (the message says which).
    """
    if not isinstance(alias, str) or not alias:
        raise InvalidNameError(f"an alias must be a non-empty string, got {alias!r}")
    if len(alias) > MAX_ALIAS:
        raise InvalidNameError(f"alias {alias[:40]!r}… is longer than {MAX_ALIAS} characters")
    check_unicode(alias, "alias", InvalidNameError)
    if not _ALIAS.fullmatch(alias):  # not match(): `$` also matches before a final newline
        raise InvalidNameError(
            f"alias {alias!r} may only hold letters, digits, '_' and '-' (no '.', '@' or spaces)"
        )
    if alias.lower() == "latest":
        raise InvalidNameError(
            "the alias 'latest' is reserved: models:/<name>@latest always means the newest version"
        )
    if _RESERVED_VERSION_ALIAS.match(alias):
        raise InvalidNameError(
            f"alias {alias!r} is reserved: 'v<number>' aliases would be confused with versions"
        )
    if alias.isdigit():
        raise InvalidNameError(f"alias {alias!r} is a number; it would be confused with a version")
    return alias


def check_tag_key(key: Any) -> str:
    """Validate a tag key (MLflow's rules, shared with runs: :func:`modelshelf._names.check_key`).

    Raises:
        InvalidNameError: empty, too long, a character outside ``[/\\w.\\- :]``, or not normalised.
    """
    return check_key(key, "tag")


def check_tag(key: Any, value: Any) -> tuple[str, str]:
    """Validate a tag; the value is turned into a string, as MLflow does.

    Raises:
        InvalidNameError: the key breaks a rule.
        InvalidInputError: the value is None or longer than 100,000 characters.
    """
    key = check_tag_key(key)
    if value is None:
        raise InvalidInputError(f"tag {key!r} has the value None; pass a string")
    text = value if isinstance(value, str) else str(value)
    check_unicode(text, f"the value of tag {key!r}")
    if len(text) > MAX_TAG_VALUE:
        raise InvalidInputError(
            f"tag {key!r} has a {len(text)}-character value; the limit is {MAX_TAG_VALUE}"
        )
    return key, text


def check_tags(tags: Any) -> dict[str, str]:
    """Validate a tag mapping (None means no tags).

    Raises:
        InvalidInputError: ``tags`` is not a mapping, or a tag breaks a rule.
    """
    if tags is None:
        return {}
    if isinstance(tags, dict):
        items = list(tags.items())
    elif isinstance(tags, (list, tuple)):  # MLflow entity tags: objects with .key/.value
        items = [(getattr(t, "key", None), getattr(t, "value", None)) for t in tags]
    else:
        raise InvalidInputError(f"tags must be a dict of str -> str, got {type(tags).__name__}")
    return dict(check_tag(k, v) for k, v in items)


def check_version(version: Any) -> int:
    """Parse a version number given as int or digit string (``3`` or ``"3"``).

    Raises:
        InvalidInputError: not a positive whole number.
    """
    if isinstance(version, bool):
        raise InvalidInputError(f"version must be a positive integer, got {version!r}")
    if isinstance(version, int):
        number = version
    elif isinstance(version, str) and version.strip().isdigit():
        number = int(version.strip())
    else:
        raise InvalidInputError(
            f"version must be a positive integer like 3 or '3', got {version!r}"
        )
    if number < 1:
        raise InvalidInputError(f"version numbers start at 1, got {version!r}")
    return number


def check_stage(stage: Any) -> str:
    """Canonicalise a stage name (case-insensitive ``None/Staging/Production/Archived``).

    Raises:
        InvalidInputError: any other value.
    """
    if stage is None:
        return "None"
    canonical = _STAGE_BY_LOWER.get(str(stage).strip().lower())
    if canonical is None:
        raise InvalidInputError(
            f"invalid stage {stage!r}; expected one of {', '.join(STAGES)} (case-insensitive)"
        )
    return canonical


def check_text(value: Any, what: str, limit: int = MAX_DESCRIPTION) -> str | None:
    """Validate an optional free-text field such as a description.

    Raises:
        InvalidInputError: not a string, or too long.
    """
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInputError(f"{what} must be a string, got {type(value).__name__}")
    if len(value) > limit:
        raise InvalidInputError(f"{what} is {len(value)} characters; the limit is {limit}")
    return check_unicode(value, what)
