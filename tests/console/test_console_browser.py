"""The web console in headless Chromium against a real ``vulcain serve``: sign in, create a
network from real model files, follow its deployment, run an image and compare what the
page shows with what the API answers; a failed deployment's reason; edit, delete, tasks,
sign-out; keyboard use and labels; screenshots at 1280 and 400 px wide."""

from __future__ import annotations

import json
import re
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.builders import onnx_constant_outputs, onnx_slow_identity
from tests.servers import VulcainServer, file_server

pytestmark = pytest.mark.slow

WIDE = {"width": 1280, "height": 900}
NARROW = {"width": 400, "height": 860}
DEPLOY_TIMEOUT_MS = 120_000


@pytest.fixture(scope="module")
def image_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = np.random.default_rng(7)
    pixels = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    pixels[12:36, 16:48] = (30, 200, 90)
    path = tmp_path_factory.mktemp("image") / "square.png"
    cv2.imwrite(str(path), pixels)
    return path


def expect():  # imported here so that a missing Playwright is a skip, not a collection error
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect


def open_page(browser, server: VulcainServer, viewport: dict[str, int] = WIDE):
    context = browser.new_context(viewport=viewport, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(30_000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(server.url + "/")
    page.errors = errors
    return page


def sign_in(page, server: VulcainServer) -> None:
    page.get_by_label("API key").fill(server.api_key)
    page.get_by_role("button", name="Sign in").click()
    expect()(page.get_by_test_id("account")).to_contain_text("Signed in as admin")


def unlabelled_controls(page) -> list[str]:
    """The form controls on the page that no label names."""
    return page.evaluate(
        """() => [...document.querySelectorAll('input, select, textarea')]
            .filter((el) => el.type !== 'hidden')
            .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
            .map((el) => el.outerHTML)"""
    )


def create_through_the_form(page, files: dict[str, Path], name: str, target_size: str) -> None:
    page.goto(page.url.split("#")[0] + "#/networks/new")
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Drop the network's files here, or choose them").set_input_files(
        [str(path) for path in files.values()]
    )
    page.get_by_label("Framework").select_option("onnx")
    page.get_by_label("Tensor name").fill("data")
    page.get_by_label("Target size").fill(target_size)
    page.get_by_role("button", name="Create and deploy").click()


def test_sign_in_create_deploy_and_run_an_image(
    browser, server, small_cnn, image_file, screenshots, tmp_path
):
    page = open_page(browser, server)
    page.screenshot(path=screenshots / "01-sign-in-1280.png", full_page=True)

    # A wrong key is told so, next to the form, and nothing is kept.
    page.get_by_label("API key").fill("not-a-key")
    page.get_by_role("button", name="Sign in").click()
    expect()(page.get_by_role("alert")).to_contain_text("API key")
    assert page.evaluate("sessionStorage.length") == 0
    sign_in(page, server)
    assert page.evaluate("sessionStorage.getItem('vulcain.apiKey')") == server.api_key

    # The form offers the values the API allows; a bad field gets the server's sentence
    # next to it, and no network is created.
    create_through_the_form(page, small_cnn, "small cnn", target_size="16x")
    expect()(page.locator("#input-0-target_size-error")).to_contain_text("must be 'WxH'")
    assert page.get_by_label("Resize type").locator("option").all_inner_texts() == [
        "SQUASH",
        "CROP",
        "FILL",
        "NETWORK",
    ]
    assert unlabelled_controls(page) == []
    page.screenshot(path=screenshots / "03-new-network-error-1280.png", full_page=True)
    with server.http() as http:
        assert http.get("/networks").json()["count"] == 0

    page.get_by_label("Target size").fill("16x16")
    page.get_by_label("Pixel scaling").fill("1")  # inputs in [0, 1]: a softmax short of 0 and 1
    page.get_by_role("button", name="Create and deploy").click()
    expect()(page).to_have_url(re.compile(r"#/networks/\d+$"))
    network_id = int(page.url.rsplit("/", 1)[1])
    expect()(page.get_by_test_id("deployment")).to_contain_text(
        "Deployed in", timeout=DEPLOY_TIMEOUT_MS
    )
    page.screenshot(path=screenshots / "04-network-deployed-1280.png", full_page=True)

    # Run an image: the output names come from the deployment; ask for a 3D one too.
    expect()(page.get_by_label("prob")).to_be_checked()
    page.get_by_label("Image file").set_input_files(str(image_file))
    page.get_by_label("Other layers or tensors (comma-separated)").fill("conv1")
    page.get_by_role("button", name="Run").click()
    result = page.get_by_test_id("result")
    expect()(result.get_by_test_id("topk")).to_be_visible(timeout=60_000)
    task_id = int(re.search(r"Result of task (\d+)", result.inner_text()).group(1))
    with server.http() as http:
        task = http.get(f"/tasks/{task_id}").json()
    prob, conv1 = task["data"]["tensors"]
    assert prob["name"] == "prob" and conv1["name"] == "conv1"
    first = result.get_by_test_id("topk").locator("tbody tr").first
    shown_index = int(first.locator("td.index").inner_text())
    shown_value = float(first.locator("td.value").inner_text())
    assert shown_index == int(np.argmax(prob["data"]))
    assert shown_value == pytest.approx(max(prob["data"]), rel=1e-5)
    rows = result.get_by_test_id("topk").locator("tbody tr")
    expect()(rows).to_have_count(5)
    expect()(result.get_by_test_id("timing")).to_contain_text("On the server")
    heatmap = result.locator("[data-name='conv1'] canvas")
    expect()(heatmap).to_be_visible()
    assert heatmap.evaluate("(canvas) => [canvas.width, canvas.height]") == [16, 16]
    page.screenshot(path=screenshots / "05-inference-result-1280.png", full_page=True)

    # The raw tensors: .npy and .npz as numpy reads them, JSON as the API gave it.
    with page.expect_download() as download:
        result.locator("[data-name='prob']").get_by_role("button", name="Download .npy").click()
    saved = tmp_path / "prob.npy"
    download.value.save_as(saved)
    array = np.load(saved)
    assert array.dtype == np.float32 and list(array.shape) == prob["shape"]
    np.testing.assert_array_equal(array.ravel(), np.asarray(prob["data"], np.float32))
    with page.expect_download() as download:
        result.get_by_role("button", name="Download every tensor (.npz)").click()
    download.value.save_as(tmp_path / "task.npz")
    with np.load(tmp_path / "task.npz") as archive:
        assert sorted(archive.files) == ["conv1", "prob"]
        np.testing.assert_array_equal(
            archive["conv1"].ravel(), np.asarray(conv1["data"], np.float32)
        )
    with page.expect_download() as download:
        result.locator("[data-name='conv1']").get_by_role("button", name="Download JSON").click()
    download.value.save_as(tmp_path / "conv1.json")
    assert json.loads((tmp_path / "conv1.json").read_text()) == conv1

    # A region drawn on the image rides with the next request.
    frame = page.get_by_test_id("image-frame")
    frame.scroll_into_view_if_needed()
    box = frame.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.25, box["y"] + box["height"] * 0.25)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.75, box["y"] + box["height"] * 0.75, steps=4)
    page.mouse.up()
    assert float(page.get_by_label("xmin").input_value()) == pytest.approx(0.25, abs=0.02)
    assert float(page.get_by_label("ymax").input_value()) == pytest.approx(0.75, abs=0.02)
    page.get_by_label("Other layers or tensors (comma-separated)").fill("")
    page.get_by_role("button", name="Run").click()
    expect()(result).to_contain_text(f"Result of task {task_id + 1}", timeout=60_000)
    with server.http() as http:
        region = http.get(f"/tasks/{task_id + 1}").json()["data"]["tensors"][0]["data"]
    assert region != prob["data"]  # the region, not the whole image, was classified
    shown_value = float(result.get_by_test_id("topk").locator("td.value").first.inner_text())
    assert shown_value == pytest.approx(max(region), rel=1e-5)
    page.screenshot(path=screenshots / "06-inference-region-1280.png", full_page=True)
    assert unlabelled_controls(page) == []

    # Edit, then delete after a confirmation (Cancel first keeps it).
    page.get_by_label("Name", exact=True).fill("small cnn, renamed")
    page.get_by_label("Metadata (JSON object)").fill('{"owner": "tests"}')
    page.get_by_role("button", name="Save").click()
    expect()(page.get_by_role("status").filter(has_text="Saved")).to_be_visible()
    with server.http() as http:
        stored = http.get(f"/networks/{network_id}").json()
    assert stored["name"] == "small cnn, renamed" and stored["metadata"] == {"owner": "tests"}
    page.get_by_label("Metadata (JSON object)").fill("[1, 2]")
    page.get_by_role("button", name="Save").click()
    expect()(page.locator("#edit-metadata-error")).to_be_visible()

    page.get_by_role("button", name="Delete this network…").click()
    dialog = page.get_by_role("dialog")
    expect()(dialog).to_contain_text("Delete “small cnn, renamed”?")
    page.screenshot(path=screenshots / "07-delete-confirmation-1280.png")
    dialog.get_by_role("button", name="Cancel").click()
    with server.http() as http:
        assert http.get(f"/networks/{network_id}").status_code == 200
    page.get_by_role("button", name="Delete this network…").click()
    dialog.get_by_role("button", name="Delete", exact=True).click()
    expect()(page.get_by_role("heading", name="Networks", exact=True)).to_be_visible()
    with server.http() as http:
        assert http.get(f"/networks/{network_id}").status_code == 404
    assert page.errors == []


def drop_files(page, files: dict[str, bytes]) -> None:
    """Drop ``files`` on the drop zone, as a file manager does."""
    transfer = page.evaluate_handle(
        """(files) => {
            const transfer = new DataTransfer();
            for (const [name, bytes] of Object.entries(files)) {
                transfer.items.add(new File([new Uint8Array(bytes)], name));
            }
            return transfer;
        }""",
        {name: list(content) for name, content in files.items()},
    )
    page.get_by_test_id("dropzone").dispatch_event("drop", {"dataTransfer": transfer})


def test_a_failed_deployment_shows_its_reason(browser, server, small_cnn, screenshots, tmp_path):
    page = open_page(browser, server)
    sign_in(page, server)
    page.goto(server.url + "/#/networks/new")
    page.get_by_label("Name", exact=True).fill("wrong input")
    # A mean file large enough for the upload to take a while on a slow link.
    mean = np.random.default_rng(1).random((3, 160, 160), dtype=np.float32)
    np.save(tmp_path / "mean.npy", mean)
    drop_files(
        page,
        {
            "model.onnx": small_cnn["model.onnx"].read_bytes(),
            "mean.npy": (tmp_path / "mean.npy").read_bytes(),
        },
    )
    expect()(page.get_by_role("list", name="Chosen files")).to_contain_text("mean.npy")
    # Pasted JSON instead of the form: it feeds an input the network does not have.
    page.get_by_role("radio", name="JSON").check()
    preprocessing = {
        "inputs": [{"tensor_name": "images", "image": {"target_size": "16x16"}}],
        "batched_output": True,
    }
    page.get_by_label("Preprocessing (JSON)").fill(json.dumps(preprocessing))
    throttle = page.context.new_cdp_session(page)
    throttle.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": 100_000},
    )
    page.get_by_role("button", name="Create and deploy").click()
    progress = page.get_by_role("progressbar")
    expect()(page.locator(".upload label")).to_contain_text("Uploading")
    page.screenshot(path=screenshots / "03-new-network-uploading-1280.png", full_page=True)
    assert 0 < float(progress.get_attribute("value")) < float(progress.get_attribute("max"))
    throttle.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )
    failure = page.get_by_test_id("deployment-error")
    expect()(failure).to_be_visible(timeout=DEPLOY_TIMEOUT_MS)
    network_id = int(page.url.rsplit("/", 1)[1])
    with server.http() as http:
        network = http.get(f"/networks/{network_id}").json()
        task = http.get(f"/tasks/{network['task_id']}").json()
    assert task["status"] == "error"
    expect()(failure).to_contain_text(task["error"])
    assert "images" in task["error"]
    expect()(page.get_by_role("heading", name="Try an image")).to_have_count(0)
    page.screenshot(path=screenshots / "08-deployment-failed-1280.png", full_page=True)

    # The tasks page lists it, newest first, with its error.
    page.get_by_role("link", name="Tasks").click()
    table = page.get_by_test_id("tasks")
    expect()(table.locator("tbody tr").first).to_contain_text(task["error"])
    expect()(table.locator("tbody tr").first).to_contain_text("failed")
    page.screenshot(path=screenshots / "09-tasks-1280.png", full_page=True)
    page.set_viewport_size(NARROW)
    page.screenshot(path=screenshots / "10-tasks-400.png", full_page=True)
    assert page.errors == []


def test_networks_list_pages_and_statuses_at_400_px(browser, server, small_cnn, screenshots):
    with server.http() as http:
        for index in range(12):
            created = http.post(
                "/networks",
                data={
                    "name": f"listed {index:02d}",
                    "framework": "onnx",
                    "preprocessing": json.dumps(
                        {"inputs": [{"tensor_name": "data", "image": {"target_size": "16x16"}}]}
                    ),
                },
                files={"model.onnx": small_cnn["model.onnx"].read_bytes()},
            )
            assert created.status_code == 201, created.text
        last = http.get(f"/tasks/{created.json()['task_id']}", params={"wait": 60}).json()
        assert last["status"] == "success"
        count = http.get("/networks").json()["count"]
    page = open_page(browser, server, NARROW)
    sign_in(page, server)
    own = page.locator("section", has=page.get_by_role("heading", name="Your networks"))
    expect()(own.locator("tbody tr")).to_have_count(10)
    expect()(own.get_by_role("navigation")).to_contain_text(f"1\N{EN DASH}10 of {count}")
    expect()(own.locator("tbody tr", has_text="listed 00")).to_contain_text("success")
    page.screenshot(path=screenshots / "02-networks-400.png", full_page=True)
    own.get_by_role("button", name="Next").click()
    expect()(own.get_by_role("navigation")).to_contain_text(f"11\N{EN DASH}{count} of {count}")
    assert page.evaluate("document.documentElement.scrollWidth") <= NARROW["width"]
    page.set_viewport_size(WIDE)
    page.screenshot(path=screenshots / "02-networks-1280.png", full_page=True)

    # The network page at 400 px: nothing wider than the screen.
    page.set_viewport_size(NARROW)
    own.get_by_role("link", name=re.compile("listed")).first.click()
    expect()(page.get_by_test_id("deployment")).to_contain_text("Deployed in")
    assert page.evaluate("document.documentElement.scrollWidth") <= NARROW["width"]
    page.screenshot(path=screenshots / "04-network-400.png", full_page=True)

    # The creation form at 400 px, with the choices the API allows.
    page.get_by_role("link", name="New network").first.click()
    expect()(page.get_by_label("Resize type")).to_have_value("SQUASH")
    assert page.evaluate("document.documentElement.scrollWidth") <= NARROW["width"]
    page.screenshot(path=screenshots / "03-new-network-400.png", full_page=True)

    # Signing out forgets the key.
    page.get_by_role("button", name="Sign out").click()
    expect()(page.get_by_label("API key")).to_be_visible()
    assert page.evaluate("sessionStorage.length") == 0
    assert page.errors == []


def test_keyboard_only_sign_in_and_navigation(browser, server, screenshots):
    page = open_page(browser, server, NARROW)
    page.screenshot(path=screenshots / "01-sign-in-400.png", full_page=True)
    expect()(page.get_by_label("API key")).to_be_focused()
    page.keyboard.type(server.api_key)
    page.keyboard.press("Enter")
    expect()(page.get_by_test_id("account")).to_contain_text("Signed in as admin")
    for _ in range(20):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent") == "Tasks":
            break
    page.keyboard.press("Enter")
    expect()(page.get_by_role("heading", name="Tasks", exact=True)).to_be_visible()
    assert page.errors == []


def test_an_image_by_url_on_a_public_network(browser, server, small_cnn, image_file, screenshots):
    with server.http() as http:
        created = http.post(
            "/networks",
            data={
                "name": "published cnn",
                "framework": "onnx",
                "preprocessing": json.dumps(
                    {"inputs": [{"tensor_name": "data", "image": {"target_size": "16x16"}}]}
                ),
            },
            files={"model.onnx": small_cnn["model.onnx"].read_bytes()},
        ).json()
        http.get(f"/tasks/{created['task_id']}", params={"wait": 60})
    server.publish(created["id"], "published-cnn")

    page = open_page(browser, server, NARROW)
    sign_in(page, server)
    public = page.locator("section", has=page.get_by_role("heading", name="Public networks"))
    public.get_by_role("link", name="published cnn").click()
    expect()(page).to_have_url(re.compile(r"#/public/published-cnn$"))
    expect()(page.get_by_test_id("deployment")).to_contain_text("Deployed in")

    with file_server(image_file.parent) as images:
        page.get_by_role("radio", name="From a URL").check()
        page.get_by_label("Image URL").fill(f"{images}/{image_file.name}")
        # An unknown name: the server's sentence is shown next to the names.
        page.get_by_label("prob").uncheck()
        page.get_by_label("Other layers or tensors (comma-separated)").fill("nope")
        page.get_by_role("button", name="Run").click()
        expect()(page.locator("#outputs-error")).to_contain_text("nope")

        page.get_by_label("Other layers or tensors (comma-separated)").fill("pool1")
        # The preprocessing dry-run: one grey image per channel of the tensor fed.
        page.get_by_role("button", name="Show what the network receives").click()
        fed = page.get_by_test_id("fed")
        expect()(fed).to_contain_text("shape [1, 3, 16, 16]")
        expect()(fed.get_by_role("img")).to_have_count(3)
        page.get_by_role("button", name="Run").click()
        result = page.get_by_test_id("result")
        heatmap = result.locator("[data-name='pool1'] canvas")
        expect()(heatmap).to_be_visible(timeout=60_000)
    task_id = int(re.search(r"Result of task (\d+)", result.inner_text()).group(1))
    with server.http() as http:
        task = http.get(f"/tasks/{task_id}").json()
    assert task["name"] == "inference on network published-cnn"
    [pool1] = task["data"]["tensors"]
    assert heatmap.evaluate("(canvas) => [canvas.width, canvas.height]") == pool1["shape"][:1:-1]
    # One channel instead of the largest over channels: the scale is that channel's range.
    channel = np.asarray(pool1["data"]).reshape(pool1["shape"])[0, 2]
    page.get_by_label("Channel", exact=True).select_option("2")
    caption = result.locator("[data-name='pool1'] figcaption")
    expect()(caption).to_contain_text(f"{channel.min():.4g}")
    expect()(caption).to_contain_text(f"{channel.max():.4g}")
    assert page.evaluate("document.documentElement.scrollWidth") <= NARROW["width"]
    page.screenshot(path=screenshots / "05-inference-url-400.png", full_page=True)
    assert page.errors == []


def test_another_accounts_public_network(browser, server, small_cnn, image_file):
    """Its deployment task is the owner's: the list and the page say whether it is ready,
    and offer its outputs, from the model metadata any account may read."""
    with server.http() as http:
        created = http.post(
            "/networks",
            data={
                "name": "shared cnn",
                "framework": "onnx",
                "preprocessing": json.dumps(
                    {"inputs": [{"tensor_name": "data", "image": {"target_size": "16x16"}}]}
                ),
            },
            files={"model.onnx": small_cnn["model.onnx"].read_bytes()},
        ).json()
        http.get(f"/tasks/{created['task_id']}", params={"wait": 60})
    server.publish(created["id"], "shared-cnn")
    other_key = server.create_account("visitor")

    page = open_page(browser, server)
    page.get_by_label("API key").fill(other_key)
    page.get_by_role("button", name="Sign in").click()
    expect()(page.get_by_test_id("account")).to_contain_text("Signed in as visitor")
    public = page.locator("section", has=page.get_by_role("heading", name="Public networks"))
    row = public.locator("tbody tr", has_text="shared cnn")
    expect()(row).to_contain_text("success")
    row.get_by_role("link", name="shared cnn").click()
    expect()(page.get_by_test_id("deployment")).to_contain_text("Deployed")
    expect()(page.get_by_label("prob")).to_be_checked()
    page.get_by_label("Image file").set_input_files(str(image_file))
    page.get_by_role("button", name="Run").click()
    topk = page.get_by_test_id("result").get_by_test_id("topk")
    expect()(topk).to_be_visible(timeout=60_000)
    assert page.errors == []


def test_the_deployment_is_followed_live(browser, server, tmp_path, screenshots):
    """A network whose warm-up pass takes seconds: the page shows it deploying, then
    deployed, without being reloaded."""
    files = onnx_slow_identity(tmp_path, copies=1024, matmuls=48)
    page = open_page(browser, server)
    sign_in(page, server)
    create_through_the_form(page, files, "slow identity", target_size="16x16")
    deployment = page.get_by_test_id("deployment")
    expect()(deployment).to_contain_text("Deploying (task")
    page.screenshot(path=screenshots / "04-network-deploying-1280.png")
    expect()(deployment).to_contain_text("Deployed in", timeout=DEPLOY_TIMEOUT_MS)
    expect()(page.get_by_label("out")).to_be_checked()
    assert page.errors == []


def _deploy(http, name: str, files: dict[str, Path]) -> int:
    created = http.post(
        "/networks",
        data={
            "name": name,
            "framework": "onnx",
            "preprocessing": json.dumps(
                {"inputs": [{"tensor_name": "data", "image": {"target_size": "16x16"}}]}
            ),
        },
        files={name: path.read_bytes() for name, path in files.items()},
    )
    assert created.status_code == 201, created.text
    deployed = http.get(f"/tasks/{created.json()['task_id']}", params={"wait": 60}).json()
    assert deployed["status"] == "success", deployed
    return int(created.json()["id"])


def _spec_and_version(http, name: str, roi: str, labels: list[str], network: int, step: dict):
    spec = http.post(
        "/recognition/specs",
        json={
            "name": name,
            "outputs": [
                {
                    "labels": {
                        "roi": roi,
                        "exclusive": False,
                        "labels": [{"id": i, "name": label} for i, label in enumerate(labels)],
                    }
                }
            ],
        },
    ).json()
    version = http.post(
        "/recognition/versions",
        json={"spec_id": spec["id"], "network_id": network, "post_processings": [step]},
    )
    assert version.status_code == 201, version.text
    return spec["id"]


def test_recognition_labels_and_boxes(
    browser, server, small_cnn, image_file, tmp_path, screenshots
):
    labels = ["cat", "dog", "bird", "fish", "horse"]
    boxes = np.array([[0.1, 0.2, 0.5, 0.6], [0.4, 0.5, 0.9, 0.95]], np.float32)  # y, x, y, x
    detector = onnx_constant_outputs(
        tmp_path / "detector",
        {
            "boxes": boxes,
            "scores": np.array([0.9, 0.7], np.float32),
            "classes": np.array([0, 1], np.float32),
        },
    )
    with server.http() as http:
        classifier_spec = _spec_and_version(
            http,
            "pets",
            "NONE",
            labels,
            _deploy(http, "pets cnn", small_cnn),
            {"classification": {"output_tensor": "prob", "thresholds": [0.3] * 5}},
        )
        detector_spec = _spec_and_version(
            http,
            "pets in boxes",
            "BBOX",
            ["cat", "dog"],
            _deploy(http, "pets detector", detector),
            {
                "detection": {
                    "direct_output": {
                        "boxes_tensor": "boxes",
                        "scores_tensor": "scores",
                        "classes_tensor": "classes",
                    }
                }
            },
        )

    page = open_page(browser, server)
    sign_in(page, server)
    page.get_by_role("link", name="Recognition").click()
    page.get_by_role("link", name="pets", exact=True).click()
    expect()(page).to_have_url(re.compile(rf"#/recognition/specs/{classifier_spec}$"))
    expect()(page.get_by_role("heading", name="Versions")).to_be_visible()
    page.get_by_label("Image file").set_input_files(str(image_file))
    page.get_by_role("button", name="Recognise").click()
    result = page.get_by_test_id("recognition-result")
    expect()(result).to_contain_text("Result of task", timeout=60_000)
    task_id = int(re.search(r"Result of task (\d+)", result.inner_text()).group(1))
    with server.http() as http:
        [output] = http.get(f"/tasks/{task_id}").json()["data"]["outputs"]
    hypotheses = output["labels"]["predicted"] + output["labels"]["discarded"]
    best = max(hypotheses, key=lambda hypothesis: hypothesis["score"])
    table = "predicted" if best in output["labels"]["predicted"] else "discarded"
    first = result.get_by_test_id(table).locator("tbody tr").first
    assert first.locator("td.label").inner_text() == best["label_name"]
    assert float(first.locator("td.score").inner_text()) == pytest.approx(best["score"], rel=1e-5)
    page.screenshot(path=screenshots / "11-recognition-labels-1280.png", full_page=True)

    # The version gives the network's prob its labels: its top-k shows them beside the indices.
    page.get_by_role("link", name="pets cnn").click()
    page.get_by_label("Image file").set_input_files(str(image_file))
    page.get_by_role("button", name="Run").click()
    topk = page.get_by_test_id("result").get_by_test_id("topk")
    expect()(topk).to_be_visible(timeout=60_000)
    first = topk.locator("tbody tr").first
    index = int(first.locator("td.index").inner_text())
    assert first.locator("td.label").inner_text() == labels[index]

    # Boxes are drawn on the image, where the API places them.
    page.goto(server.url + f"/#/recognition/specs/{detector_spec}")
    page.get_by_label("Image file").set_input_files(str(image_file))
    page.get_by_role("button", name="Recognise").click()
    expect()(result.get_by_test_id("predicted").locator("tbody tr")).to_have_count(2)
    frame = page.get_by_test_id("image-frame")
    drawn = frame.locator(".found")
    expect()(drawn).to_have_count(2)
    expect()(drawn.first).to_contain_text("cat 0.90")
    outer = frame.bounding_box()
    cat = drawn.first.bounding_box()
    assert (cat["x"] - outer["x"]) / outer["width"] == pytest.approx(0.2, abs=0.02)
    assert (cat["y"] - outer["y"]) / outer["height"] == pytest.approx(0.1, abs=0.02)
    page.screenshot(path=screenshots / "12-recognition-boxes-1280.png", full_page=True)
    assert page.errors == []
