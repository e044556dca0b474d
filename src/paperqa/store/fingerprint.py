"""What a store holds, as one small value: the papers' (id, text hash) pairs folded into a count and
a 64-bit XOR of their hashes. The catalog and the keyword index each keep theirs up to date on every
write, so "do they hold the same papers?" is answered by comparing two values instead of reading a
million hashes from each (a server's first answer waited about 2 s for that at 1M papers).

XOR makes it order-free and updatable: a paper is added or taken out by XOR-ing its pair's hash
(a replaced paper: its old pair out, its new one in). Two different sets collide with probability
about 2^-64.

May touch: nothing (pure).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass


def pair_hash(paper_id: str, text_hash: str) -> int:
    """One paper's share of a fingerprint."""
    return int.from_bytes(hashlib.blake2b(f"{paper_id}\0{text_hash}".encode(), digest_size=8).digest(), "big")


@dataclass(frozen=True)
class Fingerprint:
    count: int = 0
    xor: int = 0

    @classmethod
    def of(cls, pairs: Iterable[tuple[str, str]]) -> Fingerprint:
        return cls().changed(pairs)

    def changed(
        self, added: Iterable[tuple[str, str]], removed: Iterable[tuple[str, str]] = ()
    ) -> Fingerprint:
        """This set with these pairs added and those removed (each removed pair must be held)."""
        count, xor = self.count, self.xor
        for pid, text_hash in added:
            count, xor = count + 1, xor ^ pair_hash(pid, text_hash)
        for pid, text_hash in removed:
            count, xor = count - 1, xor ^ pair_hash(pid, text_hash)
        return Fingerprint(count, xor)

    def plus(self, other: Fingerprint) -> Fingerprint:
        """The union of two sets with no pair in common."""
        return Fingerprint(self.count + other.count, self.xor ^ other.xor)

    def dumps(self) -> str:
        return f"{self.count}:{self.xor:016x}"

    @classmethod
    def loads(cls, text: str | None) -> Fingerprint | None:
        """The fingerprint `dumps` wrote, or None for none or an unreadable one."""
        try:
            count, xor = str(text).split(":")
            return cls(int(count), int(xor, 16))
        except ValueError:
            return None
