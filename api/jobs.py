"""Background jobs of one app (e.g. pathway plans): the last results by id, one worker at a time."""

from __future__ import annotations

import threading
from collections import OrderedDict

from pydantic import BaseModel


class JobBoard:
    """Results of the last ``keep`` jobs, in memory (a restart forgets them), and the running worker."""

    def __init__(self, keep: int = 20) -> None:
        self.keep = keep
        self.items: OrderedDict[str, BaseModel] = OrderedDict()
        self.lock = threading.Lock()
        self.worker: threading.Thread | None = None

    def put(self, job_id: str, job: BaseModel) -> None:
        with self.lock:
            self.items[job_id] = job
            while len(self.items) > self.keep:
                self.items.popitem(last=False)

    def busy(self) -> bool:
        return self.worker is not None and self.worker.is_alive()
