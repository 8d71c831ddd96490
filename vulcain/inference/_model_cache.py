"""A bounded, thread-safe cache of loaded networks, keyed by network id."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vulcain.errors import PreprocessingError
from vulcain.inference.batching import Batcher
from vulcain.inference.heap import trim_heap
from vulcain.inference.means import load_mean
from vulcain.inference.network_spec import NetworkSpec
from vulcain.metrics import Metrics, NetworkMetrics
from vulcain.runtimes import load_runtime, load_serving_runtime
from vulcain.runtimes.base import Runtime
from vulcain.schemas import ImagePreprocessing

logger = logging.getLogger(__name__)

IM_INFO = "im_info"
"""The input of a Caffe proposal network that is fed ``[height, width, scale]``."""


@dataclass
class LoadedModel:
    """A runtime with what preprocessing needs, ready to serve ``network``: one loaded
    copy of the network, or several for a runtime that runs one forward at a time."""

    network: NetworkSpec
    runtimes: list[Runtime]
    means: list[np.ndarray | None]
    needs_im_info: bool
    batcher: Batcher = field(repr=False)
    folder: Path = field(repr=False)
    metrics: NetworkMetrics | None = field(default=None, repr=False)
    memory_bytes: int = 0
    """What loading and warming it up added to the process's resident memory."""

    @property
    def runtime(self) -> Runtime:
        """The first copy: what every copy knows of the network (inputs, outputs)."""
        return self.runtimes[0]


class ModelCache:
    """Loads each network once, however many threads ask for it at the same time, and
    keeps at most ``max_models`` of them within ``memory_budget_bytes`` (0: no budget),
    evicting the least recently used.

    ``prepare`` runs on every freshly loaded model before it serves (the engine checks its
    inputs and runs a warm-up pass), so a model's memory is measured as the resident
    memory the process gained while loading and warming it (at least its files' size:
    another thread's allocations may blur the figure, never to below that).

    An evicted model is not closed at once: a request may still hold it. Its batcher stops
    once its queue is empty; its runtime is closed and its folder of files removed once
    the last reference to it is gone. Each process lays its models out under a folder of
    its own in ``root``; folders of processes that died are removed at start.

    A model is found by network id and used only while its files are the ones asked for,
    so an id that names another network (or other files) never gets the old model.

    A network whose deployment kept a converted ONNX file is served by onnxruntime from
    it (unless ``converted`` is off), in one copy: only a runtime that runs one forward at
    a time is loaded ``copies`` times. Its memory is what that runtime took."""

    def __init__(
        self,
        root: Path,
        blob_path: Callable[[str], Path],
        prepare: Callable[[LoadedModel], None],
        *,
        max_models: int,
        memory_budget_bytes: int,
        max_batch_size: int,
        max_queue_delay_s: float,
        copies: int,
        metrics: Metrics | None = None,
        converted: bool = True,
    ) -> None:
        root.mkdir(parents=True, exist_ok=True)
        _remove_folders_of_dead_processes(root)
        self._root = Path(tempfile.mkdtemp(prefix=f"{os.getpid()}-", dir=root))
        self._blob_path = blob_path
        self._prepare = prepare
        self._max_models = max(1, max_models)
        self._memory_budget_bytes = memory_budget_bytes
        self._max_batch_size = max_batch_size
        self._max_queue_delay_s = max_queue_delay_s
        self._copies = copies
        self._converted = converted
        self._metrics = metrics
        self._models: OrderedDict[int, LoadedModel] = OrderedDict()
        self._lock = threading.Lock()
        self._loading: dict[int, threading.Lock] = {}

    def get(self, network: NetworkSpec) -> LoadedModel:
        with self._lock:
            model = self._cached(network)
            if model is not None:
                return model
            load_lock = self._loading.setdefault(network.id, threading.Lock())
        try:
            with load_lock:
                with self._lock:
                    model = self._cached(network)
                if model is None:
                    model = self._load(network)
                    self._add(model)
                return model
        finally:
            with self._lock:
                self._loading.pop(network.id, None)

    def _cached(self, network: NetworkSpec) -> LoadedModel | None:
        model = self._models.get(network.id)
        if model is None or model.network.files != network.files:
            return None
        self._models.move_to_end(network.id)
        return model

    def _add(self, model: LoadedModel) -> None:
        with self._lock:
            replaced = self._models.pop(model.network.id, None)
            self._models[model.network.id] = model
            evicted = [replaced] if replaced is not None else []
            pushed_out = []
            while len(self._models) > 1 and self._over_limits():
                pushed_out.append(self._models.popitem(last=False)[1])
            loaded = len(self._models)
        for old in evicted + pushed_out:
            old.batcher.close()
        if self._metrics is not None:
            self._metrics.models_loaded.set(loaded)
            self._metrics.model_memory.labels(str(model.network.id)).set(model.memory_bytes)
            for old in pushed_out:
                self._metrics.evictions.inc()
                self._metrics.forget_network(str(old.network.id))

    def _over_limits(self) -> bool:
        if len(self._models) > self._max_models:
            return True
        used = sum(model.memory_bytes for model in self._models.values())
        return 0 < self._memory_budget_bytes < used

    def evict(self, network_id: int) -> None:
        with self._lock:
            model = self._models.pop(network_id, None)
            loaded = len(self._models)
        if model is not None:
            model.batcher.close()
        if self._metrics is not None:
            self._metrics.models_loaded.set(loaded)
            self._metrics.forget_network(str(network_id))

    def clear(self, dropping: BaseException | None = None) -> None:
        """Release every model once its running batches ended; requests still queued
        fail with ``dropping`` when given, else run first."""
        with self._lock:
            models = list(self._models.values())
            self._models.clear()
        for model in models:
            model.batcher.close(wait=True, dropping=dropping)
            for runtime in model.runtimes:
                runtime.close()
        shutil.rmtree(self._root, ignore_errors=True)

    def _load(self, network: NetworkSpec) -> LoadedModel:
        trim_heap()  # pages freed before (a model just evicted) are not this one's
        resident_before = _resident_bytes()
        self._root.mkdir(parents=True, exist_ok=True)
        folder = Path(tempfile.mkdtemp(prefix=f"{network.id}-", dir=self._root))
        try:
            for name, key in network.files.items():
                (folder / name).symlink_to(self._blob_path(key))
            model = self._build(network, folder)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        try:
            self._prepare(model)
        except BaseException:
            model.batcher.close()
            raise
        files_bytes = sum(path.stat().st_size for path in model.runtime.loaded_files(folder))
        trim_heap()
        model.memory_bytes = max(files_bytes, _resident_bytes() - resident_before)
        logger.info(
            "loaded network %s (%s): %.1f MiB resident",
            network.id,
            network.framework,
            model.memory_bytes / 2**20,
        )
        return model

    def _build(self, network: NetworkSpec, folder: Path) -> LoadedModel:
        runtimes = [load_serving_runtime(network.framework, folder, converted=self._converted)]
        if runtimes[0].one_forward_at_a_time:
            runtimes += [load_runtime(network.framework, folder) for _ in range(self._copies - 1)]
        means = [
            _mean(folder, index, entry.image)
            for index, entry in enumerate(network.preprocessing.inputs)
        ]
        fed = {entry.tensor_name for entry in network.preprocessing.inputs}
        needs_im_info = any(spec.name == IM_INFO for spec in runtimes[0].inputs()) and (
            IM_INFO not in fed
        )
        batch_size = self._max_batch_size if network.preprocessing.batched_output else 1
        metrics = self._metrics.network(str(network.id)) if self._metrics is not None else None
        batcher = Batcher(
            [runtime.forward for runtime in runtimes],
            max_batch_size=batch_size,
            max_delay_s=self._max_queue_delay_s,
            name=str(network.id),
            metrics=metrics,
        )
        model = LoadedModel(network, runtimes, means, needs_im_info, batcher, folder, metrics)
        weakref.finalize(model, _release, runtimes, folder)
        return model


def _mean(folder: Path, index: int, image: ImagePreprocessing) -> np.ndarray | None:
    if image.mean_file is None:
        return None
    path = folder / image.mean_file
    if not path.exists():
        raise PreprocessingError(
            f"preprocessing.inputs[{index}].image.mean_file: {image.mean_file!r} was not uploaded"
        )
    return load_mean(path, image)


def _resident_bytes() -> int:
    """The process's resident memory (Linux ``/proc``; 0 where it cannot be read)."""
    try:
        resident_pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 0
    return resident_pages * os.sysconf("SC_PAGE_SIZE")


def _release(runtimes: list[Runtime], folder: Path) -> None:
    for runtime in runtimes:
        runtime.close()
    shutil.rmtree(folder, ignore_errors=True)


def _remove_folders_of_dead_processes(root: Path) -> None:
    """Model folders are named ``<pid>-...``: remove those whose process is gone (killed
    before it could clean up)."""
    for folder in root.iterdir():
        pid = folder.name.split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
