"""Counter-based random numbers for the scale world: any value from its key, in O(1).

The scale world never enumerates its neurons, so a random draw must be computable from
``(seed, neuron, stream, ...)`` alone, for one key or a numpy array of keys at once.
`uniform()` is splitmix64 applied to the key chain; `AffinePerm` is an invertible
shuffle of ``0 .. n-1`` used to make IDs look unordered while staying decodable.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

U64 = np.uint64
_GOLDEN = U64(0x9E3779B97F4A7C15)
_M1 = U64(0xBF58476D1CE4E5B9)
_M2 = U64(0x94D049BB133111EB)


def _mix(x: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    z = x + _GOLDEN
    z = (z ^ (z >> U64(30))) * _M1
    z = (z ^ (z >> U64(27))) * _M2
    return z ^ (z >> U64(31))  # type: ignore[no-any-return]


_MASK = (1 << 64) - 1


def _mix_int(x: int) -> int:
    z = (x + 0x9E3779B97F4A7C15) & _MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return z ^ (z >> 31)


def hash_int(*keys: int) -> int:
    """`hash64()` of plain integer keys, as a Python int."""
    h = 0
    for key in keys:
        h = _mix_int(h ^ (int(key) & _MASK))
    return h


def uniform_int(*keys: int) -> float:
    """`uniform()` of plain integer keys, as a float."""
    return (hash_int(*keys) >> 11) * (1.0 / (1 << 53))


def normal_int(*keys: int) -> float:
    """`normal()` of plain integer keys, as a float."""
    u1, u2 = uniform_int(*keys, 1), uniform_int(*keys, 2)
    return math.sqrt(-2.0 * math.log1p(-u1)) * math.cos(2.0 * math.pi * u2)


def hash64(*keys: int | npt.ArrayLike) -> npt.NDArray[np.uint64]:
    """A 64-bit hash of a chain of integer keys (arrays broadcast against each other)."""
    if all(np.size(k) == 1 for k in keys):  # one value: plain integers are much faster
        hi = 0
        for key in keys:
            hi = _mix_int(hi ^ (int(np.asarray(key).reshape(-1)[0]) & _MASK))
        shape = np.broadcast_shapes(*(np.shape(k) for k in keys)) or (1,)
        return np.full(shape, hi, dtype=U64)
    h = np.zeros(1, dtype=U64)
    with np.errstate(over="ignore"):
        for key in keys:
            k = np.asarray(key)
            if k.dtype.kind == "i":
                k = k.astype(np.int64).view(U64)
            h = _mix(h ^ k.astype(U64))
    return h


def uniform(*keys: int | npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Uniform floats in [0, 1) from a key chain."""
    return (hash64(*keys) >> U64(11)).astype(np.float64) * (1.0 / (1 << 53))


def normal(*keys: int | npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Standard normal floats from a key chain (Box-Muller on two derived uniforms)."""
    u1 = uniform(*keys, 1)
    u2 = uniform(*keys, 2)
    return np.sqrt(-2.0 * np.log1p(-u1)) * np.cos(2.0 * np.pi * u2)  # type: ignore[no-any-return]


class AffinePerm:
    """The bijection ``x -> (a * x + b) mod n`` of ``0 .. n-1`` and its inverse."""

    def __init__(self, n: int, salt: int) -> None:
        if n < 1:
            raise ValueError("n must be >= 1")
        self.n = int(n)
        a = int(hash64(salt, 1)[0]) % self.n or 1
        while math.gcd(a, self.n) != 1:
            a = (a + 1) % self.n or 1
        self.a = a
        self.b = int(hash64(salt, 2)[0]) % self.n
        self.a_inv = pow(a, -1, self.n) if self.n > 1 else 0

    def forward_int(self, x: int) -> int:
        """`forward()` of one Python int."""
        return (x * self.a + self.b) % self.n

    def inverse_int(self, y: int) -> int:
        """`inverse()` of one Python int."""
        return ((y - self.b) * self.a_inv) % self.n

    def _dtype(self) -> type:
        return np.int64 if self.n <= 1 << 31 else object  # products must not overflow

    def forward(self, x: npt.ArrayLike) -> npt.NDArray[np.int64]:
        """Shuffle ``x`` (values in ``0 .. n-1``)."""
        v: np.ndarray = np.asarray(x).astype(self._dtype())
        return np.asarray((v * self.a + self.b) % self.n, dtype=np.int64)

    def inverse(self, y: npt.ArrayLike) -> npt.NDArray[np.int64]:
        """Undo `forward()` (values in ``0 .. n-1``)."""
        v: np.ndarray = np.asarray(y).astype(self._dtype())
        return np.asarray(((v - self.b) % self.n * self.a_inv) % self.n, dtype=np.int64)
