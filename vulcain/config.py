"""Settings of a Vulcain process, read from ``VULCAIN_*`` environment variables or ``.env``.

One :class:`Settings` object is built at start and passed down explicitly; nothing reads
the environment anywhere else.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from vulcain.cores import core_count
from vulcain.json_values import MAX_JSON_DEPTH


class Settings(BaseSettings):
    """Every setting of Vulcain. Field ``x`` is ``VULCAIN_X``.

    The one place a default is written: the parts configured from settings
    (:class:`~vulcain.inference.settings.EngineSettings`,
    :class:`~vulcain.inference.sources.FetchPolicy`, the storage, the queues) take their
    values from here, and the README's settings table lists these fields with these
    defaults (``tests/test_settings_table.py`` checks it)."""

    model_config = SettingsConfigDict(
        env_prefix="VULCAIN_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        use_attribute_docstrings=True,
    )

    host: str = "127.0.0.1"
    """Address ``vulcain serve`` listens on."""
    port: int = Field(default=8000, ge=0, le=65535)
    """Port ``vulcain serve`` listens on."""
    data_dir: Path = Path("./data")
    """Folder for the SQLite file, local blobs and the engine's working files."""
    database_url: str = ""
    """SQLAlchemy URL (``sqlite:///...`` or ``postgresql+psycopg://...``); empty means a
    SQLite file ``vulcain.db`` in the data folder."""
    storage_url: str = ""
    """Where network files live (``file:///path``); empty means the folder ``blobs`` in the
    data folder."""
    workers: int = Field(default_factory=core_count, ge=1)
    """Threads of the in-process task queue (deployments and inferences)."""
    max_upload_bytes: int = Field(default=4 * 1024**3, gt=0)
    """Largest request body accepted; larger bodies answer 413."""
    body_read_timeout_seconds: float = Field(default=30.0, gt=0)
    """Longest a request body may pause (no byte arriving) before the request answers 408."""
    max_description_chars: int = Field(default=4096, ge=0)
    """Longest ``description`` of a network or a recognition spec, in characters; longer
    answers 400."""
    max_metadata_bytes: int = Field(default=64 * 1024, gt=0)
    """Largest ``metadata`` of a network or a recognition spec, counted as compact JSON;
    larger answers 400."""
    max_metadata_depth: int = Field(default=32, ge=1, le=MAX_JSON_DEPTH)
    """Deepest nesting of objects and lists in a network's ``metadata`` (an object is one
    level); deeper answers 400."""
    bootstrap_api_key: str | None = None
    """An admin account with this API key exists after start."""
    fetch_allow_hosts: str = ""
    """Comma-separated hosts or CIDRs that image URLs may reach despite the private-address
    guard."""
    task_retention_seconds: float = Field(default=86400, gt=0)
    """Finished inference tasks older than this are purged, with their stored request."""
    purge_interval_seconds: float = Field(default=300, gt=0)
    """How often the purge of old inference tasks runs."""
    task_wait_max_seconds: float = Field(default=60, ge=0)
    """Longest a client may wait for a task to finish in one request (long-poll)."""
    task_waits_per_account: int = Field(default=100, ge=1)
    """Most requests one account may hold at once in a process waiting for tasks to finish
    (``?wait=``); more answer 429."""
    task_poll_grace_ms: float = Field(default=50, ge=0, le=1000)
    """How long ``GET /tasks/{id}`` without ``wait`` may hold for an inference this process
    is already running (never one merely queued), so that a client polling without
    long-poll gets the result at its first look (0: answer at once)."""
    max_models: int = Field(default=8, ge=1)
    """Loaded networks kept in the engine's cache."""
    models_memory_mb: float = Field(default=0, ge=0)
    """Resident memory the loaded networks may take together, measured as each one loads
    and warms up; the least recently used are evicted past it (0: no budget)."""
    auth_cache_seconds: float = Field(default=5.0, ge=0)
    """How long a process remembers whose an API key is (0: look it up on every request)."""
    access_log: bool = True
    """Whether ``vulcain serve`` logs one line per request."""
    log_format: Literal["text", "json"] = "text"
    """``text``, or ``json``: one JSON object per line, with the request id, task id,
    network, route, status and duration of the request or task a line is about."""
    metrics: bool = True
    """Whether the process records Prometheus metrics and serves them on ``GET /metrics``
    (no API key: scrapers have none; turn it off, or move it with ``metrics_port``, where
    that matters)."""
    metrics_port: int = Field(default=0, ge=0, le=65535)
    """A port of its own for the Prometheus metrics (on ``host``), instead of ``/metrics``
    on the API; how a ``vulcain worker`` exposes its metrics (0: none)."""
    max_batch_size: int = Field(default=4, ge=1)
    """Most requests of one network run together in its forward passes (dynamic batching);
    a network loaded in several copies shares it among them."""
    max_queue_delay_ms: float = Field(default=5.0, ge=0)
    """Longest a request waits for others to fill its batch, while more are on their way."""
    model_copies: int = Field(default=0, ge=0)
    """Copies loaded of each Caffe network (OpenCV runs one forward pass of a copy at a
    time), so that under load forward passes run side by side on one core each; 0 means
    one per core. Each copy costs the network's memory once more."""
    accelerate: Literal["auto", "off"] = "auto"
    """``auto``: a Caffe or TensorFlow network is converted to ONNX when it deploys and
    served by onnxruntime (one copy) when every tensor it can answer agrees with its
    reference runtime's; ``off``: never, and networks converted before are served by their
    reference runtime."""
    fetch_max_bytes: int = Field(default=64 * 1024 * 1024, gt=0)
    """Largest image: downloaded from a URL, or sent in a request as a file part or bytes."""
    max_polygon_points: int = Field(default=1000, ge=3)
    """Most points of an inference input's ``polygon``; more answer 400 (filling a polygon
    costs more than linearly in its points)."""
    image_cpu_seconds: float = Field(default=10.0, gt=0)
    """CPU time the decoding and region (bbox, polygon, ...) of one inference image may
    take; past it the inference fails with an error instead of holding a preparation
    thread, which every network shares."""
    fetch_timeout_seconds: float = Field(default=15.0, gt=0)
    """Time limit of the whole fetch of an image URL: resolving its host name, connecting,
    its headers, its body and its redirects, together."""
    max_image_pixels: int = Field(default=100_000_000, gt=0)
    """Most pixels (width times height) an image may have; checked in its header, before
    it is decoded."""
    broker_url: str = ""
    """Celery broker (``amqp://user:pass@host:5672/vhost`` or ``redis://host:6379/0``) that
    carries tasks to ``vulcain worker`` processes; empty runs tasks on in-process threads."""
    task_queue: str = "vulcain"
    """Name of the durable broker queue that API replicas publish to and workers consume."""
    worker_concurrency: int = Field(default=0, ge=0)
    """Task threads of one ``vulcain worker``; 0 means ``max(workers, 2) * max_batch_size``,
    enough blocked tasks for the batcher to fill one batch while another runs forward."""
    task_resubmit_seconds: float = Field(default=120, gt=0)
    """With a broker: every this long, a replica publishes again the tasks whose publish
    failed on it, and a task still pending after this long while the broker queue is empty
    is published again (its message was lost); running a task twice is harmless.
    In-process: a task that could not be queued (or whose run failed outside its own error
    handling) is submitted again after this long."""
    events_poll_seconds: float = Field(default=2.0, gt=0)
    """With a broker on SQLite (no LISTEN/NOTIFY, no Redis): how often a long-poll re-reads
    its task."""
    s3_endpoint_url: str = ""
    """Endpoint of an S3-compatible store (MinIO, Ceph, ...) for ``s3://`` storage URLs;
    empty means AWS. Credentials come from the usual ``AWS_*`` variables."""
    blob_cache_bytes: int = Field(default=20 * 1024**3, gt=0)
    """With ``s3://`` storage: most bytes of network files kept in the local cache
    ``<data_dir>/blob-cache`` (least recently used files go first)."""

    @model_validator(mode="after")
    def _fill_defaults(self) -> Settings:
        data_dir = self.data_dir.expanduser().absolute()
        if not self.database_url:
            self.database_url = f"sqlite:///{data_dir / 'vulcain.db'}"
        if not self.storage_url:
            self.storage_url = (data_dir / "blobs").as_uri()
        return self

    @property
    def allowed_fetch_hosts(self) -> tuple[str, ...]:
        """``fetch_allow_hosts`` split on commas, blanks dropped."""
        return tuple(host.strip() for host in self.fetch_allow_hosts.split(",") if host.strip())
