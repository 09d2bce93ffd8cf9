"""The write policy: which keys may create versions of which models and move which aliases.

A policy is a JSON object, signed by a trusted key (:func:`sign_policy`) and pinned by each
reader and writer as a file held outside the shelf::

    {"format": 1,
     "keys": {"release": "<key id>", "ci": "<key id>"},
     "default": ["ci", "release"],                 # any other write
     "versions": {"fraud*": ["ci", "release"]},    # create_version, by model-name pattern
     "aliases": {"*@production": ["release"]},     # set/delete alias, by model@alias pattern
     "checkpoints": ["release"]}                   # who may sign checkpoints (see below)

Patterns are shell-style (``fnmatch``); the first matching pattern decides, else ``default``.
Deleting a version an alias points at, and renaming or deleting a model with aliases, move
those aliases, so they need the alias rule too; a rename also needs the rules of the new name
(its versions and aliases arrive there). A checkpoint states the whole registry, so
without a ``checkpoints`` entry only the keys that every rule allows may sign one (a key that
may not move ``@production`` must not be able to move it through a checkpoint either).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from modelshelf.errors import ConfigurationError
from modelshelf.signing._envelope import open_signed, seal
from modelshelf.signing._keys import SigningKey, TrustedKeys

__all__ = ["POLICY_KEY", "Policy", "sign_policy"]

POLICY_KEY = "modelshelf-policy"


@dataclass(frozen=True)
class Policy:
    """A verified write policy."""

    keys: dict[str, str]
    default: tuple[str, ...]
    versions: tuple[tuple[str, tuple[str, ...]], ...]
    aliases: tuple[tuple[str, tuple[str, ...]], ...]
    signed_by: str
    checkpoints: tuple[str, ...] = ()

    @classmethod
    def from_doc(cls, doc: dict[str, Any], signed_by: str) -> Policy:
        try:
            keys = {str(k): str(v) for k, v in dict(doc.get("keys") or {}).items()}
            default = tuple(str(n) for n in doc.get("default") or ())
            versions = tuple(
                (str(p), tuple(map(str, n))) for p, n in (doc.get("versions") or {}).items()
            )
            aliases = tuple(
                (str(p), tuple(map(str, n))) for p, n in (doc.get("aliases") or {}).items()
            )
            if doc.get("checkpoints") is not None:
                checkpoints = tuple(str(n) for n in doc["checkpoints"])
            else:  # a checkpoint can state anything: only keys that may do everything
                checkpoints = tuple(
                    n for n in default if all(n in names for _, names in versions + aliases)
                )
        except (TypeError, ValueError, AttributeError) as exc:
            raise ConfigurationError(f"the write policy is malformed ({exc})") from exc
        names = set(default) | set(checkpoints) | {n for _, ns in versions + aliases for n in ns}
        unknown = sorted(names - set(keys))
        if unknown:
            raise ConfigurationError(
                f"the write policy names keys {unknown} that its 'keys' table does not define"
            )
        return cls(keys, default, versions, aliases, signed_by, checkpoints)

    @classmethod
    def load(cls, path: str | os.PathLike[str], trusted: TrustedKeys) -> Policy:
        """Load and verify a signed policy file.

        Raises:
            ConfigurationError: unreadable or malformed.
            SignatureError: not signed by a trusted key.
        """
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise ConfigurationError(
                f"cannot read the write policy {os.fspath(path)!r}: {exc}"
            ) from exc
        doc, signer = open_signed(data, POLICY_KEY, trusted)
        return cls.from_doc(doc, signer)

    def _allowed(self, names: tuple[str, ...]) -> set[str]:
        return {self.keys[n] for n in names}

    def _rule(
        self, table: tuple[tuple[str, tuple[str, ...]], ...], subject: str
    ) -> tuple[str, ...]:
        for pattern, names in table:
            if fnmatchcase(subject, pattern):
                return names
        return self.default

    def who(self, names: tuple[str, ...]) -> str:
        return ", ".join(names) or "no key"

    def check(self, kind: str, subject: str, key_id: str | None) -> str | None:
        """Why ``key_id`` may not do ``kind`` (``version``, ``alias``, ``other``) on
        ``subject``; None when allowed."""
        if kind == "version":
            names = self._rule(self.versions, subject)
            what = f"create versions of {subject!r}"
        elif kind == "alias":
            names = self._rule(self.aliases, subject)
            model, _, alias = subject.partition("@")
            what = f"move alias {alias!r} of {model!r}"
        elif kind == "checkpoint":
            names = self.checkpoints
            what = f"sign {subject}"
        else:
            names = self.default
            what = f"change {subject!r}"
        if key_id is not None and key_id in self._allowed(names):
            return None
        signer = f"key {key_id}" if key_id else "an unsigned commit"
        return f"{signer} may not {what}; the write policy allows only: {self.who(names)}"


def sign_policy(doc: dict[str, Any], signer: SigningKey) -> bytes:
    """The policy ``doc`` signed by ``signer`` (write it to a file readers pin)."""
    Policy.from_doc(doc, signer.key_id)  # refuse to sign a malformed policy
    return seal(doc, POLICY_KEY, signer)
