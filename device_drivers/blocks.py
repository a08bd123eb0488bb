"""Block reads: cover the registers a device needs with as few requests as it allows."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Block:
    function: int  # 3 holding / 4 input
    address: int
    count: int

    @property
    def end(self) -> int:
        return self.address + self.count


def plan_blocks(spans: Iterable[tuple[int, int, int]], max_registers: int = 125, max_gap: int = 16) -> list[Block]:
    """Merge (function, address, count) spans into blocks.

    Spans of the same function are merged, in address order, while the block stays
    within ``max_registers`` (Modbus allows 125 per read; many devices fewer) and the
    unused gap between neighbours is at most ``max_gap`` registers (reading a gap costs
    2 bytes per register, a new request costs a round trip). Greedy left-to-right
    merging is optimal for this interval-cover problem because spans are sorted.
    """
    if max_registers < 1:
        raise ValueError("max_registers must be >= 1")
    blocks: list[Block] = []
    for fn, addr, count in sorted(set(spans)):
        if count > max_registers:
            raise ValueError(f"a {count}-register value cannot be read with max block {max_registers}")
        if blocks:
            last = blocks[-1]
            end = max(last.end, addr + count)
            if last.function == fn and addr - last.end <= max_gap and end - last.address <= max_registers:
                blocks[-1] = Block(fn, last.address, end - last.address)
                continue
        blocks.append(Block(fn, addr, count))
    return blocks
