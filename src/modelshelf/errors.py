"""Every exception modelshelf raises.

Each error also inherits the builtin a caller would naturally catch, so both
``except modelshelf.errors.ObjectNotFoundError`` and ``except FileNotFoundError`` work::

    ModelshelfError
    ├── ConfigurationError (ValueError)
    │   ├── MissingDependencyError (ImportError)      an optional extra is not installed
    │   ├── UnsupportedBackendError                   URL scheme we cannot open
    │   └── BackendRequestError                       the storage client refused a request
    ├── InvalidInputError (ValueError)
    │   ├── InvalidPathError                          `..`, absolute, NUL, backslash, duplicate
    │   ├── InvalidNameError                          model / alias / tag / param names
    │   ├── InvalidURIError                           malformed runs:/ models:/ sha256: URIs
    │   └── MalformedMetadataError                    bad MLmodel / YAML / JSON / manifest
    │       └── SchemaEnforcementError                input or params do not match a signature
    ├── NotFoundError (FileNotFoundError, LookupError)
    │   ├── ObjectNotFoundError                       a key / blob / tree is absent
    │   ├── ModelNotFoundError, VersionNotFoundError, AliasNotFoundError
    │   ├── RunNotFoundError, ArtifactNotFoundError
    ├── AlreadyExistsError (FileExistsError)
    │   ├── ModelExistsError
    │   └── ArtifactExistsError                      a write-once path holds other bytes
    ├── ImmutableValueError (ValueError)              a write-once param logged with another value
    ├── IntegrityError (ValueError)                  stored bytes do not match their digest
    ├── ConcurrencyError (RuntimeError)
    │   ├── CommitConflictError                      gave up after bounded retries
    │   └── UnsafeBackendError                       backend ignores conditional writes
    └── StorageError (OSError)                       an untranslated backend failure
        └── BackendUnavailableError                  5xx, throttling, timeouts, resets
                                                     that outlasted the retries

Warnings derive from :class:`ModelshelfWarning`.
"""

from __future__ import annotations

__all__ = [
    "AliasNotFoundError",
    "AlreadyExistsError",
    "ArtifactExistsError",
    "ArtifactNotFoundError",
    "BackendRequestError",
    "BackendUnavailableError",
    "CommitConflictError",
    "ConcurrencyError",
    "ConfigurationError",
    "ImmutableValueError",
    "IntegrityError",
    "InvalidInputError",
    "InvalidNameError",
    "InvalidPathError",
    "InvalidURIError",
    "MalformedMetadataError",
    "MissingDependencyError",
    "ModelExistsError",
    "ModelLoadWarning",
    "ModelNotFoundError",
    "ModelshelfError",
    "ModelshelfWarning",
    "NotFoundError",
    "ObjectNotFoundError",
    "OfflineFallbackWarning",
    "ParamsIgnoredWarning",
    "RequirementsMismatchWarning",
    "RunNotFoundError",
    "SchemaEnforcementError",
    "SignatureInferenceWarning",
    "StageDeprecationWarning",
    "StorageError",
    "UnsafeBackendError",
    "UnsupportedBackendError",
    "VersionNotFoundError",
]


class ModelshelfError(Exception):
    """Root of every error modelshelf raises."""


class ModelshelfWarning(UserWarning):
    """Root of every warning modelshelf emits."""


class ConfigurationError(ModelshelfError, ValueError):
    """The environment or the arguments describe something modelshelf cannot set up."""


class MissingDependencyError(ConfigurationError, ImportError):
    """An optional dependency is missing; the message names the extra to install."""


class UnsupportedBackendError(ConfigurationError):
    """The URL's scheme names a backend modelshelf does not support."""


class BackendRequestError(ConfigurationError):
    """The storage client refused a request before sending it (a bad bucket or container
    name, an invalid option): fix the shelf URL or the storage_options; retrying cannot help."""


class InvalidInputError(ModelshelfError, ValueError):
    """An argument was rejected before anything was written."""


class InvalidPathError(InvalidInputError):
    """A path is absolute, escapes its root, holds NUL/backslash, or repeats."""


class InvalidNameError(InvalidInputError):
    """A model, alias, tag, param or metric name breaks the naming rules."""


class InvalidURIError(InvalidInputError):
    """A URI is not of a form modelshelf resolves."""


class MalformedMetadataError(InvalidInputError):
    """A metadata file (MLmodel, YAML, JSON, manifest, commit) cannot be parsed or validated."""


class SchemaEnforcementError(MalformedMetadataError):
    """Input data or params do not match the model signature."""


class NotFoundError(ModelshelfError, FileNotFoundError, LookupError):
    """Something that was asked for does not exist."""

    def __str__(self) -> str:  # FileNotFoundError would otherwise format errno-style args
        return str(self.args[0]) if self.args else ""


class ObjectNotFoundError(NotFoundError):
    """A storage key, blob or tree is absent."""


class ModelNotFoundError(NotFoundError):
    """No registered model has that name."""


class VersionNotFoundError(NotFoundError):
    """The registered model has no such (live) version."""


class AliasNotFoundError(NotFoundError):
    """The registered model has no such alias."""


class RunNotFoundError(NotFoundError):
    """No run has that id."""


class ArtifactNotFoundError(NotFoundError):
    """The run has no artifact at that path."""


class AlreadyExistsError(ModelshelfError, FileExistsError):
    """A create-if-absent found the key taken."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class ModelExistsError(AlreadyExistsError):
    """A registered model with that name exists already."""


class ArtifactExistsError(AlreadyExistsError):
    """A write-once artifact path already holds different bytes."""


class ImmutableValueError(ModelshelfError, ValueError):
    """A write-once value (a run param, say) was logged again with another value."""


class IntegrityError(ModelshelfError, ValueError):
    """Stored bytes do not hash to the digest they are stored under, or history was edited."""


class ConcurrencyError(ModelshelfError, RuntimeError):
    """Concurrent writers could not be reconciled."""


class CommitConflictError(ConcurrencyError):
    """A commit lost its race more times than the retry budget allows."""


class UnsafeBackendError(ConcurrencyError):
    """The backend does not enforce conditional creates, so multi-writer use is unsafe."""


class StorageError(ModelshelfError, OSError):
    """A backend failed in a way modelshelf could not classify; the cause is chained."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class BackendUnavailableError(StorageError):
    """The backend kept failing transiently (HTTP 5xx, throttling, timeouts, dropped
    connections) after every retry. Nothing was left half-visible; try again later."""


# -- models / pyfunc warnings --------------------------------------------------------------


class RequirementsMismatchWarning(ModelshelfWarning):
    """A model's requirements.txt pins versions that differ from the installed packages."""


class ModelLoadWarning(ModelshelfWarning):
    """Loading a model found something odd but recoverable (Python version, ignored config)."""


class ParamsIgnoredWarning(ModelshelfWarning):
    """Params passed to predict were dropped: the model declares no params or cannot take them."""


class SignatureInferenceWarning(ModelshelfWarning):
    """A signature could not be inferred from the input example; the model is saved without one."""


class StageDeprecationWarning(ModelshelfWarning, FutureWarning):
    """A deprecated model-registry stage API was used (MLflow deprecates stages for aliases)."""


class OfflineFallbackWarning(ModelshelfWarning):
    """The shelf could not be reached, so a model URI was resolved from the local cache."""
