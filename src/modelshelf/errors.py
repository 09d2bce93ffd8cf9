"""Every exception modelshelf raises.

Each error also inherits the builtin a caller would naturally catch, so both
``except modelshelf.errors.ObjectNotFoundError`` and ``except FileNotFoundError`` work::

    ModelshelfError
    ├── ConfigurationError (ValueError)
    │   ├── MissingDependencyError (ImportError)      an optional extra is not installed
    │   ├── UnsupportedBackendError                   URL scheme we cannot open
    │   └── BackendRequestError                       the storage client refused a request
    ├── InvalidInputError (ValueError)
    │   ├── InvalidPathError                          `..`, absolute, NUL, backslash, too long
    │   │   └── UnloggableFileError                   a folder holds a bad symlink or a FIFO…
    │   ├── InvalidNameError                          model / alias / tag / param names
    │   ├── InvalidURIError                           malformed runs:/ models:/ sha256: URIs
    │   ├── InvalidFilterError                        a search filter, order_by or page token
    │   ├── SchemaEnforcementError                    input or params do not match a signature
    │   │   └── TypeHintError                         input does not match predict's type hint
    │   └── MalformedMetadataError                    bad MLmodel / YAML / JSON / manifest
    │       └── CheckpointError                       a registry checkpoint is incomplete
    ├── NotFoundError (FileNotFoundError, LookupError)
    │   ├── ObjectNotFoundError                       a key / blob / tree is absent
    │   ├── ModelNotFoundError, VersionNotFoundError, AliasNotFoundError
    │   ├── RunNotFoundError, ArtifactNotFoundError
    ├── AlreadyExistsError (FileExistsError)
    │   ├── ModelExistsError
    │   └── ArtifactExistsError                      a write-once path holds other bytes
    ├── ImmutableValueError (ValueError)              a write-once param logged with another value
    ├── IntegrityError (ValueError)                  stored bytes do not match their digest
    │   └── LogHoleError                             a registry commit is missing mid-log
    ├── AuthenticityError (ValueError)               signed history cannot be trusted
    │   ├── SignatureError                           unsigned, badly signed or untrusted signer
    │   ├── RollbackError                            history went backwards or forked
    │   └── PolicyViolationError                     a key did what the write policy forbids
    ├── ConcurrencyError (RuntimeError)
    │   ├── CommitConflictError                      gave up after bounded retries
    │   └── UnsafeBackendError                       backend ignores conditional writes
    └── StorageError (OSError)                       an untranslated backend failure
        ├── StoragePermissionError (PermissionError) the credentials may not do this
        └── BackendUnavailableError                  5xx, throttling, timeouts, resets
                                                     that outlasted the retries

Warnings derive from :class:`ModelshelfWarning`::

    ModelshelfWarning (UserWarning)
    ├── RequirementsMismatchWarning, ModelLoadWarning, ParamsIgnoredWarning
    ├── SignatureInferenceWarning, OfflineFallbackWarning
    ├── StageDeprecationWarning (FutureWarning)       stage APIs (use aliases)
    └── ModelshelfDeprecationWarning (FutureWarning)  an argument MLflow itself deprecated
"""

from __future__ import annotations

__all__ = [
    "AliasNotFoundError",
    "AlreadyExistsError",
    "AuthenticityError",
    "ArtifactExistsError",
    "ArtifactNotFoundError",
    "BackendRequestError",
    "BackendUnavailableError",
    "CheckpointError",
    "CommitConflictError",
    "ConcurrencyError",
    "ConfigurationError",
    "ImmutableValueError",
    "IntegrityError",
    "InvalidFilterError",
    "InvalidInputError",
    "InvalidNameError",
    "InvalidPathError",
    "InvalidURIError",
    "LogHoleError",
    "MalformedMetadataError",
    "MissingDependencyError",
    "ModelExistsError",
    "ModelLoadWarning",
    "ModelNotFoundError",
    "ModelshelfDeprecationWarning",
    "ModelshelfError",
    "ModelshelfWarning",
    "NotFoundError",
    "ObjectNotFoundError",
    "OfflineFallbackWarning",
    "ParamsIgnoredWarning",
    "PolicyViolationError",
    "RequirementsMismatchWarning",
    "RollbackError",
    "RunNotFoundError",
    "SchemaEnforcementError",
    "SignatureError",
    "SignatureInferenceWarning",
    "StageDeprecationWarning",
    "StorageError",
    "StoragePermissionError",
    "TypeHintError",
    "UnloggableFileError",
    "UnsafeBackendError",
    "UnsupportedBackendError",
    "VersionNotFoundError",
]


class ModelshelfError(Exception):
    """Root of every error modelshelf raises.

    ``modelshelf.exceptions.MlflowException`` is this class, so ``except MlflowException``
    catches every modelshelf error; ``error_code`` is the name MLflow would give it.
    """

    error_code: str = "INTERNAL_ERROR"


class ModelshelfWarning(UserWarning):
    """Root of every warning modelshelf emits."""


class ConfigurationError(ModelshelfError, ValueError):
    """The environment or the arguments describe something modelshelf cannot set up."""

    error_code = "INVALID_PARAMETER_VALUE"


class MissingDependencyError(ConfigurationError, ImportError):
    """An optional dependency is missing; the message names the extra to install."""


class UnsupportedBackendError(ConfigurationError):
    """The URL's scheme names a backend modelshelf does not support."""


class BackendRequestError(ConfigurationError):
    """The storage client refused a request before sending it (a bad bucket or container
    name, an invalid option): fix the shelf URL or the storage_options; retrying cannot help."""


class InvalidInputError(ModelshelfError, ValueError):
    """An argument was rejected before anything was written."""

    error_code = "INVALID_PARAMETER_VALUE"


class InvalidPathError(InvalidInputError):
    """A path is absolute, escapes its root, holds NUL/backslash, or repeats."""


class UnloggableFileError(InvalidPathError):
    """A folder being logged holds an entry that cannot be stored as a file.

    A symlink that dangles, loops or points outside the folder, or a special file (FIFO,
    socket, device). The message names the entry; nothing of the folder was logged.
    """


class InvalidNameError(InvalidInputError):
    """A model, alias, tag, param or metric name breaks the naming rules."""


class InvalidURIError(InvalidInputError):
    """A URI is not of a form modelshelf resolves."""


class InvalidFilterError(InvalidInputError):
    """A search ``filter_string``, ``order_by`` or ``page_token`` cannot be read."""


class SchemaEnforcementError(InvalidInputError):
    """Input data or params do not match the model signature (bad input, not bad metadata)."""


class TypeHintError(SchemaEnforcementError):
    """The input does not match the type hint of the model's ``predict``.

    ``mlflow.exceptions.MlflowException`` in an MLflow-written ``python_model.pkl`` resolves to
    this class (MLflow's pickled validation wrapper raises it), so it keeps MLflow's ``message``
    and ``error_code`` attributes and ``invalid_parameter_value`` constructor.
    """

    def __init__(self, message: object, error_code: str = "INTERNAL_ERROR", **_: object) -> None:
        super().__init__(str(message))
        self.message = str(message)
        self.error_code = error_code

    @classmethod
    def invalid_parameter_value(cls, message: object, **kwargs: object) -> TypeHintError:
        return cls(message, error_code="INVALID_PARAMETER_VALUE", **kwargs)


class MalformedMetadataError(InvalidInputError):
    """A metadata file (MLmodel, YAML, JSON, manifest, commit) cannot be parsed or validated."""


class CheckpointError(MalformedMetadataError):
    """A registry checkpoint is missing, incomplete or does not match its manifest."""


class NotFoundError(ModelshelfError, FileNotFoundError, LookupError):
    """Something that was asked for does not exist."""

    error_code = "RESOURCE_DOES_NOT_EXIST"

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

    error_code = "RESOURCE_ALREADY_EXISTS"

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class ModelExistsError(AlreadyExistsError):
    """A registered model with that name exists already."""


class ArtifactExistsError(AlreadyExistsError):
    """A write-once artifact path already holds different bytes."""


class ImmutableValueError(ModelshelfError, ValueError):
    """A write-once value (a run param, say) was logged again with another value."""

    error_code = "INVALID_STATE"


class IntegrityError(ModelshelfError, ValueError):
    """Stored bytes do not hash to the digest they are stored under, or history was edited."""


class AuthenticityError(ModelshelfError, ValueError):
    """Signed history cannot be trusted: a reader with trusted keys refuses to go on.

    Not an :class:`IntegrityError`: readers fall back from a damaged checkpoint to the log,
    but never around a signature that does not hold.
    """


class SignatureError(AuthenticityError):
    """A commit, checkpoint or run record is unsigned, badly signed, or signed by a key the
    reader does not trust; the message names the object."""


class RollbackError(AuthenticityError):
    """The shelf's history is behind, or on another branch than, a head already verified."""


class PolicyViolationError(AuthenticityError):
    """A key created a version or moved an alias that the signed write policy forbids."""


class LogHoleError(IntegrityError):
    """A registry commit is missing while a later commit or checkpoint exists.

    Writing the next commit would fork history, so writers refuse; readers refuse too rather
    than serve a state that silently skips commits. ``missing`` is the first absent seq and
    ``next_present`` the seq of a later commit that exists (None when only a checkpoint or
    the ``_latest`` hint proves that later commits were written).
    """

    def __init__(self, message: str, *, missing: int = 0, next_present: int | None = None) -> None:
        super().__init__(message)
        self.missing = missing
        self.next_present = next_present


class ConcurrencyError(ModelshelfError, RuntimeError):
    """Concurrent writers could not be reconciled."""

    error_code = "ABORTED"


class CommitConflictError(ConcurrencyError):
    """A commit lost its race more times than the retry budget allows."""


class UnsafeBackendError(ConcurrencyError):
    """The backend does not enforce conditional creates, so multi-writer use is unsafe."""


class StorageError(ModelshelfError, OSError):
    """A backend failed in a way modelshelf could not classify; the cause is chained."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class StoragePermissionError(StorageError, PermissionError):
    """The backend refused the credentials (HTTP 401/403, ``AccessDenied``, ``EACCES``)."""

    error_code = "PERMISSION_DENIED"


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


class ModelshelfDeprecationWarning(ModelshelfWarning, FutureWarning):
    """An MLflow argument that MLflow itself deprecated."""


class StageDeprecationWarning(ModelshelfWarning, FutureWarning):
    """A deprecated model-registry stage API was used (MLflow deprecates stages for aliases)."""


class OfflineFallbackWarning(ModelshelfWarning):
    """The shelf could not be reached, so a model URI was resolved from the local cache."""
