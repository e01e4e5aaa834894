"""A detector's state as plain JSON values, and a detector restored from it."""

import copy
from typing import Any, ClassVar, Self


class SlotState:
    """Saves and restores every slot of a detector; slots hold only JSON-ready values."""

    __slots__: tuple[str, ...] = ()
    name: ClassVar[str]

    def state(self) -> dict[str, Any]:
        """The detector's name and a copy of all it has learnt (str, int, float, list, None)."""
        slots = {key: copy.deepcopy(getattr(self, key)) for key in self.__slots__}
        return {"detector": self.name, **slots}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Self:
        """The detector that `state()` described, continuing exactly where it stopped."""
        if state.get("detector") != cls.name:
            raise ValueError(f"state of {state.get('detector')!r}, not of {cls.name!r}")
        missing = [key for key in cls.__slots__ if key not in state]
        if missing:
            raise ValueError(f"{cls.name} state lacks {', '.join(missing)}")
        detector = cls.__new__(cls)
        for key in cls.__slots__:
            setattr(detector, key, copy.deepcopy(state[key]))
        return detector
