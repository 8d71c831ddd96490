"""Inference answered within the request, with no task: the preprocessing dry-run and the
synchronous inference of the Open Inference Protocol (``/v2``).

The same networks, the same checks of who may see them (:class:`NetworkCatalog`), the same
engine: images go through the network's preprocessing and every forward pass through the
model's dynamic batcher, like the tasks of ``POST .../inference``. Nothing is written to
the database.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import anyio.to_thread
import numpy as np

from vulcain.errors import BadRequest, UnknownTensorError
from vulcain.inference.engine import Engine, Outputs, TensorRequest
from vulcain.inference.preprocessing import fed_shape
from vulcain.schemas import Account, ImageInput, InferenceInput, InferenceRequest
from vulcain.services._catalog import InferenceTarget, NetworkCatalog
from vulcain.services._inference_checks import check_image_sizes, check_request


@dataclass(frozen=True)
class FedTensor:
    """One tensor a network is fed: ``dimension_order`` is that of its preprocessing, or
    ``None`` for a tensor that is not an image (``im_info``)."""

    name: str
    tensor: np.ndarray
    dimension_order: str | None


@dataclass(frozen=True)
class TensorInfo:
    """A tensor a network takes or gives: ``-1`` for a dimension that varies."""

    name: str
    shape: list[int]
    dtype: str


@dataclass(frozen=True)
class NetworkDescription:
    """What a network takes and gives, once deployed."""

    target: InferenceTarget
    inputs: list[TensorInfo]
    """The tensors the network is fed: its preprocessing inputs (shaped by the
    preprocessing), then any other input (``im_info``)."""
    outputs: list[TensorInfo]
    """The network's own outputs: what a request naming none gets."""


class DirectInference:
    """Inference without a task, for the caller's networks and the published ones."""

    def __init__(self, catalog: NetworkCatalog, engine: Engine, max_image_bytes: int) -> None:
        self._catalog = catalog
        self._engine = engine
        self._max_image_bytes = max_image_bytes
        self._outputs: dict[tuple[int, tuple[tuple[str, str], ...]], list[TensorInfo]] = {}
        """The own outputs of networks described once, by id and files (a network never
        changes; an id SQLite gives again after a delete comes with other files)."""

    async def target(self, account: Account, ref: int | str) -> InferenceTarget:
        """The network ``ref`` names for ``account`` (:class:`vulcain.errors.NotFound`
        when it may not see it)."""
        target = self._catalog.cached(account, ref)
        if target is not None:
            return target
        return await anyio.to_thread.run_sync(self._catalog.load, account, ref)

    async def preprocess(
        self, account: Account, ref: int | str, request: InferenceRequest
    ) -> list[FedTensor]:
        """The tensors the network would be fed for ``request`` (checked as an inference
        is), in the order of its inputs; the forward pass does not run."""
        check_image_sizes(request, self._max_image_bytes)
        target = await self.target(account, ref)
        check_request(target, request)
        feeds = await anyio.to_thread.run_sync(self._engine.preprocess, target.network, request)
        orders = {
            entry.tensor_name: entry.image.dimension_order
            for entry in target.network.preprocessing.inputs
        }
        return [FedTensor(name, tensor, orders.get(name)) for name, tensor in feeds.items()]

    async def describe(self, account: Account, ref: int | str) -> NetworkDescription:
        """The network's inputs and own outputs; the outputs' shapes are learnt from one
        forward pass of a grey image the first time (loading the network when it is not
        loaded). :class:`vulcain.errors.BadRequest` while it is not deployed."""
        target = self.deployed(await self.target(account, ref))
        network = target.network
        key = (network.id, tuple(sorted(network.files.items())))
        outputs = self._outputs.get(key)
        if outputs is None:
            examples = await anyio.to_thread.run_sync(self._engine.output_examples, network)
            varies = any(
                entry.image.resize_type == "NETWORK" for entry in network.preprocessing.inputs
            )
            outputs = [
                TensorInfo(name, _shape(array.shape, all_vary=varies), str(array.dtype))
                for name, array in examples.items()
            ]
            self._outputs[key] = outputs
        return NetworkDescription(target, _inputs(target), outputs)

    async def infer_images(
        self,
        account: Account,
        ref: int | str,
        images: Mapping[str, Sequence[str | bytes]],
        outputs: Sequence[str],
    ) -> Outputs:
        """Run images (``images[tensor_name][i]``: item ``i``'s image for that input,
        encoded bytes or a source string as ``image.source`` takes) through the network's
        preprocessing and the batcher; the tensors of ``outputs`` (none: the network's
        own), the items stacked along the batch axis."""
        target = self.deployed(await self.target(account, ref))
        expected = [entry.tensor_name for entry in target.network.preprocessing.inputs]
        unknown = [name for name in images if name not in expected]
        if unknown:
            raise UnknownTensorError.for_names(unknown, expected, kind="image input")
        missing = [name for name in expected if name not in images]
        if missing:
            raise BadRequest(
                f"inputs: the network takes an image for each of {', '.join(expected)}; "
                f"missing: {', '.join(missing)}."
            )
        counts = {len(images[name]) for name in expected}
        if len(counts) != 1:
            raise BadRequest("inputs: every input must hold as many images (the batch size).")
        names = await self._output_names(target, outputs)
        requests = [
            InferenceRequest(
                inputs=[
                    InferenceInput(image=ImageInput(source=images[name][index]))
                    for name in expected
                ],
                output_tensors=names,
            )
            for index in range(counts.pop())
        ]
        for request in requests:
            check_image_sizes(request, self._max_image_bytes)
            check_request(target, request)
        return await self._gather(target, requests, names)

    async def infer_tensors(
        self,
        account: Account,
        ref: int | str,
        feeds: dict[str, np.ndarray],
        outputs: Sequence[str],
    ) -> Outputs:
        """Feed ``feeds`` (batched tensors by input name, already preprocessed) as they
        are: each item of the batch goes through the batcher on its own, as images do."""
        target = self.deployed(await self.target(account, ref))
        names = await self._output_names(target, outputs)
        described = _inputs(target)
        known = [info.name for info in described]
        unknown = [name for name in feeds if name not in known]
        if unknown:
            raise UnknownTensorError.for_names(unknown, known, kind="input")
        missing = [name for name in known if name not in feeds]
        if missing:
            raise BadRequest(
                f"inputs: the network takes {', '.join(known)}; missing: {', '.join(missing)}."
            )
        for info in described:
            shape = feeds[info.name].shape
            fits = len(shape) == len(info.shape) and all(
                want in (-1, got) for want, got in zip(info.shape, shape, strict=True)
            )
            if not fits:
                raise BadRequest(
                    f"inputs: {info.name} has shape {list(shape)}; the network takes "
                    f"{info.shape} (-1: any size)."
                )
        sizes = {len(array) for array in feeds.values()}
        if len(sizes) != 1:
            raise BadRequest("inputs: every input must have the same batch size (first axis).")
        (size,) = sizes
        requests = [
            TensorRequest(
                {name: array[index : index + 1] for name, array in feeds.items()}, tuple(names)
            )
            for index in range(size)
        ]
        return await self._gather(target, requests, names)

    async def _output_names(self, target: InferenceTarget, outputs: Sequence[str]) -> list[str]:
        if not outputs:
            return await anyio.to_thread.run_sync(self._engine.final_outputs, target.network)
        unknown = [name for name in outputs if name not in target.known_outputs]
        if unknown:
            raise UnknownTensorError.for_names(unknown, target.outputs or ())
        return list(outputs)

    async def _gather(
        self,
        target: InferenceTarget,
        requests: Sequence[InferenceRequest | TensorRequest],
        names: list[str],
    ) -> Outputs:
        if not requests:
            raise BadRequest("inputs: the batch is empty; send at least one item.")
        futures = [
            asyncio.wrap_future(self._engine.submit(target.network, request))
            for request in requests
        ]
        results = await asyncio.gather(*futures)
        if len(results) == 1:
            return results[0]
        return {name: np.concatenate([result[name] for result in results]) for name in names}

    @staticmethod
    def deployed(target: InferenceTarget) -> InferenceTarget:
        """``target`` if its deployment succeeded, else :class:`BadRequest` saying why not."""
        if target.deployment_error is not None:
            raise BadRequest(
                f"The network's deployment failed, so it cannot run: {target.deployment_error}"
            )
        if target.outputs is None:
            raise BadRequest(
                f"Network {target.public_id or target.network.id} is still being deployed; "
                "try again once its deployment task succeeded."
            )
        return target


def _shape(shape: Sequence[int | None], *, all_vary: bool = False) -> list[int]:
    """A batched shape as metadata tells it: the batch and unknown sides are ``-1``."""
    return [-1] + [-1 if side is None or all_vary else int(side) for side in shape[1:]]


def _inputs(target: InferenceTarget) -> list[TensorInfo]:
    entries = target.network.preprocessing.inputs
    fed = [
        TensorInfo(e.tensor_name, _shape((None, *fed_shape(e.image))), "float32") for e in entries
    ]
    images = {entry.tensor_name for entry in entries}
    others = [
        TensorInfo(spec.name, _shape(spec.shape or (None,)), spec.dtype)
        for spec in target.inputs or ()
        if spec.name not in images
    ]
    return fed + others
