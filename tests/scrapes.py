"""Reading a Prometheus endpoint the way a scraper does, for tests that check the numbers."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families


class Samples:
    """The samples of one scrape, read by name and labels."""

    def __init__(self, text: str) -> None:
        self._samples = [
            (sample.name, sample.labels, sample.value)
            for family in text_string_to_metric_families(text)
            for sample in family.samples
        ]

    def value(self, name: str, **labels: str) -> float:
        """The value of the one sample ``name`` with these labels (and maybe others),
        0 when there is none."""
        found = [
            value
            for sample, sample_labels, value in self._samples
            if sample == name and all(sample_labels.get(k) == v for k, v in labels.items())
        ]
        assert len(found) <= 1, f"{name} {labels} matches {len(found)} samples"
        return found[0] if found else 0.0

    def labels(self, name: str, label: str) -> set[str]:
        """Every value ``label`` takes among the samples ``name``."""
        return {labels[label] for sample, labels, _ in self._samples if sample == name}


def scrape(url: str) -> Samples:
    response = httpx.get(url, timeout=30)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return Samples(response.text)
