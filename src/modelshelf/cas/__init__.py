"""Content-addressed store: blobs named by sha256, trees as manifest blobs, a verified cache.

>>> from modelshelf.storage import open_storage
>>> blobs = BlobStore(open_storage("memory://cas-doc"))
>>> d = blobs.put_bytes(b"hello")
>>> str(d)[:14], blobs.get(d)
('sha256:2cf24db', b'hello')
"""

from __future__ import annotations

from modelshelf.cas._cache import LocalCache
from modelshelf.cas._digest import Digest, blob_key, hash_bytes, hash_file, key_to_digest
from modelshelf.cas._store import BlobStore, PutStats, VerifyProblem, VerifyReport
from modelshelf.cas._tree import Tree, TreeEntry, check_relpath, scan_dir

__all__ = [
    "BlobStore",
    "Digest",
    "LocalCache",
    "PutStats",
    "Tree",
    "TreeEntry",
    "VerifyProblem",
    "VerifyReport",
    "blob_key",
    "check_relpath",
    "hash_bytes",
    "hash_file",
    "key_to_digest",
    "scan_dir",
]
