"""Inference answered within the request, with no task: the preprocessing dry-run and the
synchronous inference of the Open Inference Protocol (``/v2``).

The same networks, the same checks of who may see them (:class:`NetworkCatalog`), the same
engine: images go through the network's preprocessing and every forward pass through the
model's dynamic batcher, like the tasks of ``POST .../inference``. Nothing is written to
the database.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

import anyio.to_thread
import numpy as np

from vulcain.errors import BadRequest, UnknownTensorError
from vulcain.inference.engine import Engine, Outputs, TensorRequest
from vulcain.runtimes.base import TensorSpec
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
class ModelDescription:
    """What a network takes and gives, once deployed."""

    target: InferenceTarget
    inputs: list[TensorSpec]
    """The tensors the network is fed (its preprocessing inputs, plus ``im_info``)."""
    final_outputs: list[str]
    """What a request naming no output gets."""


class DirectInference:
    """Inference without a task, for the caller's networks and the published ones."""

    def __init__(self, catalog: NetworkCatalog, engine: Engine, max_image_bytes: int) -> None:
        self._catalog = catalog
        self._engine = engine
        self._max_image_bytes = max_image_bytes

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

    async def describe(self, account: Account, ref: int | str) -> ModelDescription:
        """The network's inputs and its own outputs (loading it when it is not loaded);
        :class:`vulcain.errors.BadRequest` while it is not deployed."""
        target = self._deployed(await self.target(account, ref))
        network = target.network
        finals = await anyio.to_thread.run_sync(self._engine.final_outputs, network)
        return ModelDescription(target, list(target.inputs or ()), finals)

    async def infer_images(
        self,
        account: Account,
        ref: int | str,
        images: Sequence[Sequence[bytes]],
        outputs: Sequence[str],
    ) -> Outputs:
        """Run each item of ``images`` (one encoded image per preprocessing input, in
        order) through the network's preprocessing and the batcher; the tensors of
        ``outputs`` (none: the network's own), the items stacked along the batch axis."""
        target = self._deployed(await self.target(account, ref))
        names = await self._output_names(target, outputs)
        requests = [
            InferenceRequest(
                inputs=[InferenceInput(image=ImageInput(source=data)) for data in item],
                output_tensors=names,
            )
            for item in images
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
        target = self._deployed(await self.target(account, ref))
        names = await self._output_names(target, outputs)
        known = [spec.name for spec in target.inputs or ()]
        unknown = [name for name in feeds if name not in known]
        if unknown:
            raise UnknownTensorError.for_names(unknown, known, kind="input")
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
    def _deployed(target: InferenceTarget) -> InferenceTarget:
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
