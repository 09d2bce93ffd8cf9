"""The registry's use of signatures: sealing commits and checkpoint manifests, and the checks
a reader with trusted keys makes (signature, write policy, remembered head).

Kept apart from the commit protocol: the log, checkpoint and replay code call these hooks
only when a signing key or trusted keys are configured, so without them nothing changes.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelshelf import _settings
from modelshelf.errors import (
    ConfigurationError,
    InvalidInputError,
    PolicyViolationError,
    RollbackError,
    SignatureError,
)
from modelshelf.registry._checkpoint import MANIFEST, CheckpointError, checkpoint_prefix
from modelshelf.registry._log import log_key, sha256_hex
from modelshelf.registry._state import RegistryState
from modelshelf.signing import (
    HeadMemory,
    Policy,
    SigningKey,
    TrustedKeys,
    is_signed,
    open_signed,
    resolve_signing_key,
    resolve_trusted_keys,
    seal,
)

if TYPE_CHECKING:
    from modelshelf.registry._audit import RegistryVerifyReport
    from modelshelf.registry._replica import Replica

__all__ = [
    "HEAD_FILE",
    "RegistryTrust",
    "parse_head",
    "policy_problems",
    "seal_commit",
    "seal_manifest",
    "trust_for",
    "verify_trust",
]

HEAD_FILE = "trusted_head.json"
_PREDATES = "is unsigned and predates signing (trust_from)"


def seal_commit(data: bytes, seq: int, signer: SigningKey) -> bytes:
    """Commit bytes with the writer's key id and signature added."""
    return seal(json.loads(data), log_key(seq), signer)


def seal_manifest(seq: int, manifest: dict[str, Any], signer: SigningKey) -> bytes:
    return seal(manifest, checkpoint_prefix(seq) + MANIFEST, signer)


def _subjects(state: RegistryState, action: dict[str, Any]) -> list[tuple[str, str]]:
    op, name = action.get("op"), str(action.get("name"))
    model = state.models.get(name)
    aliases = dict(model.aliases) if model is not None else {}
    if op == "create_version":
        return [("version", name)]
    if op in ("set_alias", "delete_alias"):
        return [("alias", f"{name}@{action.get('alias')}")]
    found = [("other", name)]
    if op == "delete_version":
        found += [
            ("alias", f"{name}@{a}") for a, v in aliases.items() if v == action.get("version")
        ]
    elif op in ("rename_model", "delete_model"):
        found += [("alias", f"{name}@{a}") for a in aliases]
    if op == "rename_model":  # the versions and aliases arrive under the new name
        new = str(action.get("new_name"))
        found += [("version", new)] + [("alias", f"{new}@{a}") for a in aliases]
    return found


def policy_problems(
    policy: Policy, state: RegistryState, actions: Sequence[Mapping[str, Any]], key_id: str | None
) -> list[str]:
    """What in ``actions`` (checked against ``state`` before them) the policy forbids."""
    problems = []
    for action in actions:
        if not isinstance(action, dict):
            continue
        for kind, subject in _subjects(state, action):
            why = policy.check(kind, subject, key_id)
            if why is not None and why not in problems:
                problems.append(why)
    return problems


class RegistryTrust:
    """What a reader with trusted keys checks while it loads and follows one shelf's log."""

    def __init__(
        self,
        trusted: TrustedKeys,
        *,
        policy: Policy | None,
        memory: HeadMemory | None,
        url: str,
        anchor: tuple[int, str] | None = None,
    ) -> None:
        self.anchor = anchor  # (seq, sha256): commits up to it may be unsigned
        self.trusted = trusted
        self.policy = policy
        self.memory = memory
        self.url = url
        self._verified: tuple[int, str | None] | None = None  # what this process chained to

    def fingerprint(self) -> str:
        policy = self.policy
        pinned = hashlib.sha256(repr(policy).encode()).hexdigest()[:16] if policy else ""
        anchor = f"{self.anchor[0]}:{self.anchor[1]}" if self.anchor else ""
        return f"trust:{self.trusted.fingerprint()}:{pinned}:{anchor}"

    # ------------------------------------------------------------------------- objects
    def check_commit(self, seq: int, data: bytes) -> str:
        """Verify commit ``seq``'s signature; returns its signer. Raises SignatureError."""
        return open_signed(data, log_key(seq), self.trusted)[1]

    def check_manifest(self, seq: int, data: bytes) -> None:
        """Verify checkpoint ``seq``'s manifest signature.

        Raises:
            SignatureError: unsigned, badly signed or by an untrusted key (readers stop).
            CheckpointError: by a trusted key the policy does not let sign checkpoints
                (readers ignore the checkpoint and replay the signed log instead).
        """
        if self.anchor is not None and seq <= self.anchor[0] and not is_signed(data):
            raise CheckpointError(f"checkpoint {seq} {_PREDATES}; readers replay the log")
        signer = open_signed(data, checkpoint_prefix(seq) + MANIFEST, self.trusted)[1]
        why = self.policy.check("checkpoint", "checkpoints", signer) if self.policy else None
        if why is not None:
            raise CheckpointError(f"checkpoint {seq} is not usable: {why}")

    def check_writer(self, signer: SigningKey | None) -> None:
        """A client that trusts only signed history must sign what it writes with a key it
        trusts, or it would write commits that it (and every reader like it) refuses.

        Raises:
            ConfigurationError: no signing key, or one that is not among the trusted keys.
        """
        if signer is None:
            raise ConfigurationError(
                "this client trusts only signed registry history but has no signing key, so "
                "readers like it would refuse its commits; set MODELSHELF_SIGNING_KEY (or pass "
                "signing_key)"
            )
        if signer.key_id not in self.trusted:
            raise ConfigurationError(
                f"the signing key {signer.path or signer.key_id} (id {signer.key_id}) is not "
                "among this client's trusted keys, so readers like it would refuse its commits; "
                "add its public key to the trusted keys"
            )

    def may_checkpoint(self, signer: SigningKey | None) -> bool:
        """Whether a writer's checkpoint would be used by readers pinning the policy."""
        if self.policy is None:
            return True
        return (
            self.policy.check("checkpoint", "checkpoints", signer.key_id if signer else None)
            is None
        )

    def check_policy(
        self,
        seq: int,
        state: RegistryState,
        actions: Sequence[Mapping[str, Any]],
        key_id: str | None,
    ) -> None:
        if self.policy is None:
            return
        problems = policy_problems(self.policy, state, actions, key_id)
        if problems:
            raise PolicyViolationError(
                f"registry commit {log_key(seq)!r} breaks the write policy: "
                + "; ".join(problems)
                + ". Readers refuse it; restore the log from a copy or re-sign the policy"
            )

    def follow(self, seq: int, data: bytes, state: RegistryState, actions: list[Any]) -> None:
        """Every check on commit ``seq`` before a reader applies it to ``state``."""
        if self.anchor is not None and seq <= self.anchor[0]:
            self.check_anchor(seq, data)
            return
        signer = self.check_commit(seq, data)
        self.check_policy(seq, state, actions, signer)

    def check_anchor(self, seq: int, data: bytes) -> None:
        """Commits up to the anchor are unsigned; the chain ties them to the anchor's hash."""
        assert self.anchor is not None
        if seq == self.anchor[0] and sha256_hex(data) != self.anchor[1]:
            raise SignatureError(
                f"registry commit {log_key(seq)!r} is not the commit trusted unsigned "
                f"(trust_from {seq}:{self.anchor[1]}): history before signing was rewritten"
            )

    # ---------------------------------------------------------------------------- heads
    def restart(self) -> None:
        """A cold load starts: nothing is chained to what this process verified before."""
        self._verified = None

    def settle(self, state: RegistryState, read: Callable[[int], bytes | None]) -> None:
        """Compare the state reached with the remembered head, then remember the new head.

        Raises:
            RollbackError: the log is behind the remembered head, or on another branch.
        """
        here = (state.seq, state.head)
        if self.memory is None or here == self._verified:
            return
        if self.anchor is not None and state.seq < self.anchor[0]:
            raise RollbackError(
                f"the registry of {self.url} ends at commit {state.seq}, before commit "
                f"{self.anchor[0]} that trust_from names: commits were deleted"
            )
        known = self.memory.get()
        if known is not None:
            seq, head = known
            if state.seq < seq:
                raise RollbackError(
                    f"the registry of {self.url} ends at commit {state.seq}, but this machine "
                    f"verified commit {seq} ({log_key(seq)!r}, sha256:{head}) before: newer "
                    "commits were deleted (a rollback). Restore them from a copy; do not trust "
                    "this shelf until then"
                )
            if state.seq == seq:
                same = state.head == head
            elif self._verified is not None and self._verified[0] >= seq:
                same = True  # the state chained, commit by commit, onto one already checked
            else:
                data = read(seq)
                same = data is not None and sha256_hex(data) == head
            if not same:
                raise RollbackError(
                    f"commit {seq} of the registry of {self.url} ({log_key(seq)!r}) is not the "
                    f"one this machine verified before (sha256:{head}): history was forked or "
                    "rewritten. Do not trust this shelf until the log is restored"
                )
        self.memory.put(state.seq, state.head or "")
        self._verified = here


def trust_for(
    url: str,
    cache_dir: Path,
    signing_key: Any,
    trusted_keys: Any,
    policy: Any,
    trust_from: str | None = None,
) -> tuple[SigningKey | None, RegistryTrust | None]:
    """The signing key and the reader's trust for a client, from arguments or environment.

    Raises:
        ConfigurationError: a key or policy file is unusable, or a policy without trusted keys.
    """
    signer = resolve_signing_key(signing_key)
    trusted = resolve_trusted_keys(trusted_keys)
    policy_arg = policy if policy is not None else _settings.policy_path()
    if not trusted:
        if policy_arg is not None:
            raise ConfigurationError(
                "a write policy needs trusted keys to check its signature; pass trusted_keys "
                "or set MODELSHELF_TRUSTED_KEYS"
            )
        return signer, None
    pinned = (
        policy_arg
        if isinstance(policy_arg, Policy) or policy_arg is None
        else Policy.load(os.fspath(policy_arg), trusted)
    )
    memory = HeadMemory(cache_dir / HEAD_FILE)
    anchor_text = trust_from if trust_from is not None else _settings.trust_from()
    anchor = parse_head(anchor_text) if anchor_text else None
    return signer, RegistryTrust(trusted, policy=pinned, memory=memory, url=url, anchor=anchor)


def parse_head(text: str) -> tuple[int, str]:
    """``SEQ:SHA256`` (the hash with or without ``sha256:``). Raises InvalidInputError."""
    found = _HEAD.fullmatch(str(text).strip())
    if found is None or int(found[1]) < 1:
        raise InvalidInputError(
            f"expected head {text!r} is not SEQ:SHA256 (e.g. 42:3f…, the seq of a commit, "
            "from 1, and the sha256 of its bytes, as `modelshelf verify` prints them)"
        )
    return int(found[1]), found[2].lower()


_HEAD = re.compile(r"([0-9]{1,20}):(?:sha256:)?([0-9a-fA-F]{64})")


def verify_trust(replica: Replica, report: RegistryVerifyReport, expect_head: str | None) -> None:
    """Add to ``report`` what a reader with trusted keys refuses: unsigned or badly signed
    commits, commits the policy forbids, a log behind or beside a known head, unsigned run
    records."""
    from modelshelf.registry._audit import RegistryProblem

    trust = replica.trust
    expected = parse_head(expect_head) if expect_head is not None else None
    if trust is None and expected is None:
        return
    heads = {}
    if expected is not None:
        heads["the expected head (--expect-head)"] = expected
    if trust is not None and trust.anchor is not None:
        heads["the last commit trusted unsigned (trust_from)"] = trust.anchor
    if trust is not None and trust.memory is not None:
        known = trust.memory.get()
        if known is not None:
            heads["the head this machine verified before"] = known
    wanted = {seq for seq, _ in heads.values()}
    hashes: dict[int, str] = {}
    state = RegistryState()
    last = 0
    for seq, data in replica.log.read_from(1, first=16):
        last = seq
        if seq in wanted:
            hashes[seq] = sha256_hex(data)
        if trust is None:
            continue
        try:
            body = json.loads(data)
            actions = list(body.get("actions") or [])
        except (ValueError, TypeError, AttributeError):
            continue  # a malformed commit: verify() reports it already
        if trust.anchor is None or seq > trust.anchor[0]:
            try:
                signer = trust.check_commit(seq, data)
                trust.check_policy(seq, state, actions, signer)
            except (SignatureError, PolicyViolationError) as exc:
                report.problems.append(RegistryProblem(log_key(seq), str(exc), seq))
        undo: list[Callable[[], None]] = []
        try:
            state.apply(actions, timestamp=0, actor="", seq=seq, undo=undo)
        except Exception:  # noqa: BLE001 - an invalid commit: verify() reports it already
            from modelshelf.registry._state import rollback

            rollback(undo)
    for what, (seq, digest) in heads.items():
        if seq > last:
            report.problems.append(
                RegistryProblem(
                    log_key(seq),
                    f"{what} is commit {seq}, but the log ends at commit {last}: commits were "
                    "deleted (a rollback); restore them from a copy",
                    seq,
                )
            )
        elif hashes.get(seq) != digest:
            report.problems.append(
                RegistryProblem(
                    log_key(seq),
                    f"commit {seq} hashes to sha256:{hashes.get(seq)}, not {what} "
                    f"sha256:{digest}: history was forked or rewritten",
                    seq,
                )
            )
    if trust is not None and trust.anchor is not None:
        for found in list(report.problems):  # old checkpoints are ignored, not wrong
            if _PREDATES in found.problem:
                report.problems.remove(found)
                report.notes.append(str(found))
    if trust is not None:
        from modelshelf.signing._records import record_problems

        for key, problem in record_problems(replica.storage, trust.trusted):
            report.problems.append(RegistryProblem(key, problem))
